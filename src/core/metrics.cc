#include "core/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace infergate::core {
namespace {

std::string FormatDouble(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

// Adds le="..." to a rendered label set.
std::string WithLe(const std::string& labels, const std::string& le) {
  if (labels.empty()) return "{le=\"" + le + "\"}";
  return labels.substr(0, labels.size() - 1) + ",le=\"" + le + "\"}";
}

}  // namespace

void Gauge::Add(double v) {
  double cur = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

uint64_t Histogram::CumulativeCount(size_t i) const {
  uint64_t total = 0;
  for (size_t b = 0; b <= i && b <= bounds_.size(); ++b) total += buckets_[b].load(std::memory_order_relaxed);
  return total;
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> BatchSizeBuckets() { return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}; }

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string s = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) s += ',';
    s += labels[i].first + "=\"";
    for (char c : labels[i].second) {
      if (c == '\\') s += "\\\\";
      else if (c == '"') s += "\\\"";
      else if (c == '\n') s += "\\n";
      else s += c;
    }
    s += '"';
  }
  return s + "}";
}

MetricsRegistry::Family& MetricsRegistry::GetFamily(const std::string& name, const std::string& help,
                                                    Type type) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  }
  return it->second;
}

Counter& MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = GetFamily(name, help, Type::kCounter).counters[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& MetricsRegistry::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = GetFamily(name, help, Type::kGauge).gauges[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& MetricsRegistry::GetHistogram(const std::string& name, const std::string& help,
                                         const Labels& labels, const std::vector<double>& bounds) {
  std::lock_guard lock(mu_);
  auto& slot = GetFamily(name, help, Type::kHistogram).histograms[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

void MetricsRegistry::AddCallbackGauge(const std::string& name, const std::string& help,
                                       const Labels& labels, std::function<double()> read) {
  std::lock_guard lock(mu_);
  GetFamily(name, help, Type::kGauge).callbacks[RenderLabels(labels)] = std::move(read);
}

const Counter* MetricsRegistry::FindCounter(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto family = families_.find(name);
  if (family == families_.end()) return nullptr;
  auto it = family->second.counters.find(RenderLabels(labels));
  return it == family->second.counters.end() ? nullptr : it->second.get();
}

const Histogram* MetricsRegistry::FindHistogram(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto family = families_.find(name);
  if (family == families_.end()) return nullptr;
  auto it = family->second.histograms.find(RenderLabels(labels));
  return it == family->second.histograms.end() ? nullptr : it->second.get();
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    static const char* kTypes[] = {"counter", "gauge", "histogram"};
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + kTypes[static_cast<int>(f.type)] + "\n";
    for (const auto& [labels, c] : f.counters) out += name + labels + " " + std::to_string(c->value()) + "\n";
    for (const auto& [labels, g] : f.gauges) out += name + labels + " " + FormatDouble(g->value()) + "\n";
    for (const auto& [labels, read] : f.callbacks) out += name + labels + " " + FormatDouble(read()) + "\n";
    for (const auto& [labels, h] : f.histograms) {
      for (size_t i = 0; i < h->bounds().size(); ++i) {
        out += name + "_bucket" + WithLe(labels, FormatDouble(h->bounds()[i])) + " " +
               std::to_string(h->CumulativeCount(i)) + "\n";
      }
      const uint64_t total = h->CumulativeCount(h->bounds().size());
      out += name + "_bucket" + WithLe(labels, "+Inf") + " " + std::to_string(total) + "\n";
      out += name + "_sum" + labels + " " + FormatDouble(h->sum()) + "\n";
      out += name + "_count" + labels + " " + std::to_string(total) + "\n";
    }
  }
  return out;
}

}  // namespace infergate::core
