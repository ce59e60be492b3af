#include "progress.h"

#include <unistd.h>

namespace infergate::bench {

ProgressLine::ProgressLine(std::FILE* out, bool enabled)
    : out_(out), enabled_(enabled), tty_(isatty(fileno(out)) == 1) {}

void ProgressLine::Update(const std::string& what, TimePoint now, double elapsed_s, double total_s,
                          const Progress& progress) {
  if (!enabled_) return;
  const auto interval = tty_ ? std::chrono::seconds(1) : std::chrono::seconds(5);
  if (last_ == TimePoint{}) {
    last_ = now;
    last_ok_ = progress.ok;
    return;
  }
  if (now - last_ < interval) return;
  const double seconds = std::chrono::duration<double>(now - last_).count();
  const double ok_rate = static_cast<double>(progress.ok - last_ok_) / seconds;
  std::fprintf(out_, "%s%s %5.1f/%.1f s  done %llu  ok/s %.0f  errors %llu%s", tty_ ? "\r" : "",
               what.c_str(), elapsed_s, total_s, static_cast<unsigned long long>(progress.completed),
               ok_rate, static_cast<unsigned long long>(progress.errors), tty_ ? "\x1b[K" : "\n");
  std::fflush(out_);
  open_line_ = tty_;
  last_ = now;
  last_ok_ = progress.ok;
}

void ProgressLine::Finish() {
  if (open_line_) std::fputc('\n', out_);
  open_line_ = false;
  last_ = TimePoint{};
}

}  // namespace infergate::bench
