// The progress line of a long run, on stderr: elapsed time, requests done,
// successful requests per second over the last interval, errors. On a
// terminal one line is rewritten in place every second; otherwise a plain
// line is printed every five seconds so logs stay readable.
//
// Thread-safety: used by the driver thread only.
#pragma once

#include <cstdio>
#include <string>

#include "rate_schedule.h"
#include "recorder.h"

namespace infergate::bench {

class ProgressLine {
 public:
  ProgressLine(std::FILE* out, bool enabled);

  // Prints a line if the interval has passed since the last one.
  void Update(const std::string& what, TimePoint now, double elapsed_s, double total_s,
              const Progress& progress);
  // Ends the line (on a terminal).
  void Finish();

 private:
  std::FILE* out_;
  bool enabled_;
  bool tty_;
  bool open_line_ = false;
  TimePoint last_{};
  uint64_t last_ok_ = 0;
};

}  // namespace infergate::bench
