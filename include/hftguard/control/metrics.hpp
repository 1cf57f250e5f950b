#pragma once
// The daemon's metrics and their Prometheus text exposition (format 0.0.4): counters,
// gauges and histograms with labels, written once here because Prometheus's C++ client is
// not packaged. Families are declared with their help text first; a sample for an
// undeclared family is a programming error (std::logic_error). Safe to update from any
// thread (the event log's writer times its batches on its own thread); render() takes a
// consistent copy.

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hftguard::control {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { Counter, Gauge, Histogram };

class Metrics {
 public:
  // `name` in base units with the conventional suffix (_total, _seconds); histograms take
  // their upper bounds (ascending; +Inf is implied).
  void counter(const std::string& name, const std::string& help);
  void gauge(const std::string& name, const std::string& help);
  void histogram(const std::string& name, const std::string& help, std::vector<double> buckets);

  void add(const std::string& name, const Labels& labels, double by = 1);  // a counter
  // A counter that mirrors a monotonic count kept elsewhere (the scheduler's runs).
  void total(const std::string& name, const Labels& labels, double value);
  void set(const std::string& name, const Labels& labels, double value);   // a gauge
  void observe(const std::string& name, const Labels& labels, double value);  // a histogram
  // A gauge family recomputed at each scrape: its series are dropped first (a component
  // removed by a reload must not linger).
  void clear(const std::string& name);
  // Drops every series, of every family, whose labels include all of `match` (a check or a
  // component a reload removed): a scrape must not show what no longer exists.
  void forget(const Labels& match);
  // The value of one counter or gauge series (tests, `hftguard status`).
  std::optional<double> value(const std::string& name, const Labels& labels) const;

  std::string render() const;

 private:
  struct Series {
    double value = 0;
    std::vector<double> counts;  // histogram: per bucket, not cumulative
    double sum = 0;
    double count = 0;
  };
  struct Family {
    MetricType type = MetricType::Counter;
    std::string help;
    std::vector<double> buckets;
    std::map<Labels, Series> series;
  };
  Family& family(const std::string& name, MetricType type);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

// Seconds, the buckets for a latency of a probe or a step (1 ms .. 60 s).
std::vector<double> latencyBuckets();

// One sample line of an exposition, as a scraper reads it.
struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family -> counter/gauge/histogram
  std::map<std::string, std::string> help;
  std::vector<Sample> samples;
};

// Parses the text format strictly (every line a comment, a TYPE/HELP or a valid sample;
// names and label names valid; label values escaped; a sample's family typed). Nullopt with
// the first problem as "line N: why".
std::optional<Exposition> parseExposition(std::string_view text, std::string* error = nullptr);

}  // namespace hftguard::control
