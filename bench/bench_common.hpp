// What every benchmark prints with its table: the machine and compiler, and the median helper.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace pl_bench {

inline std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown";
}

inline std::string compiler() {
#if defined(__clang__)
  return std::string("clang ") + __VERSION__;
#elif defined(__GNUC__)
  return std::string("gcc ") + __VERSION__;
#else
  return "unknown";
#endif
}

inline void print_machine() {
  std::printf("- CPU: %s (%u hardware threads)\n", cpu_model().c_str(), std::thread::hardware_concurrency());
  std::printf("- Compiler: %s\n", compiler().c_str());
}

inline double now_s() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

// One row of a "| name | median | min | max |" table, with printf's `format` for each number.
inline void print_stats_row(const char* name, std::vector<double> v, const char* format = "%.2f") {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double med = n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  std::printf("| %s | ", name);
  std::printf(format, med);
  std::printf(" | ");
  std::printf(format, v.front());
  std::printf(" | ");
  std::printf(format, v.back());
  std::printf(" |\n");
}

// A JSON config file; exits with a message when it cannot be opened.
inline nlohmann::json load_json(const std::string& path) {
  std::ifstream f(path);
  if (!f) {
    std::fprintf(stderr, "cannot open %s\n", path.c_str());
    std::exit(2);
  }
  return nlohmann::json::parse(f);
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace pl_bench
