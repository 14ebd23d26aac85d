/// <reference lib="webworker" />
// The lab worker's entry (the playground's separate worker file); the service is in serve.ts.
import { serveLab } from './serve';

serveLab(self as unknown as DedicatedWorkerGlobalScope);
