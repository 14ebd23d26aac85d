// Linked after the generated module code (em++ --post-js, wasm/wasm.mk). The bindings never throw a JS
// exception from inside a C++ frame: a failed call records its error and returns a placeholder
// (wasm/bindings.cpp). Here every bound function -- free functions, class functions and methods -- is
// wrapped so that, once the call has returned, a recorded error is thrown as a JS Error named after
// the C++ error kind ("ConfigError", "CheckpointError", "EnvError", "TaskError", "Error").
(function () {
  var before = {};
  Object.keys(Module).forEach(function (k) { before[k] = true; });
  var previous = Module['onRuntimeInitialized'];
  Module['onRuntimeInitialized'] = function () {
    var take = Module['takeError'];
    var wrap = function (fn) {
      var wrapped = function () {
        var result = fn.apply(this, arguments);
        var err = take();
        if (err !== null) {
          var e = new Error(err.message);
          e.name = err.name;
          throw e;
        }
        return result;
      };
      Object.defineProperty(wrapped, 'name', { value: fn.name });
      return wrapped;
    };
    var wrapOwn = function (obj, skip) {
      Object.getOwnPropertyNames(obj).forEach(function (k) {
        if (skip.indexOf(k) >= 0) return;
        var d = Object.getOwnPropertyDescriptor(obj, k);
        if (d && typeof d.value === 'function' && d.writable !== false) obj[k] = wrap(d.value);
      });
    };
    // What the bindings registered: the module's function-valued properties that appeared when the
    // runtime started. A class (an Embind class handle) gets its methods and class functions wrapped.
    Object.keys(Module).forEach(function (k) {
      if (before[k] || k === 'takeError' || typeof Module[k] !== 'function') return;
      var f = Module[k];
      if (f.prototype && typeof f.prototype.isAliasOf === 'function') {
        wrapOwn(f.prototype, ['constructor']);
        wrapOwn(f, ['prototype', 'length', 'name', 'arguments', 'caller']);
      } else if (!/^(_|dynCall)/.test(k)) {
        Module[k] = wrap(f);
      }
    });
    if (previous) previous();
  };
})();
