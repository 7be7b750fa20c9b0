#include "report.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>

namespace flashsale {
namespace {

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// 12.3M, 456k, 789
std::string Rate(double v) {
  if (v >= 1e9) return Fmt("%.2fG", v / 1e9);
  if (v >= 1e6) return Fmt("%.2fM", v / 1e6);
  if (v >= 1e3) return Fmt("%.1fk", v / 1e3);
  return Fmt("%.0f", v);
}

std::string Micros(double us) {
  if (us < 10) return Fmt("%.2f", us);
  if (us < 1000) return Fmt("%.1f", us);
  return Fmt("%.0f", us);
}

std::string Ratio(double r) {
  if (r >= 100) return Fmt("%.0fx", r);
  if (r >= 10) return Fmt("%.1fx", r);
  return Fmt("%.2fx", r);
}

// "system/variant", and " P16" for a pipelined row.
std::string Name(const RowResult& r) {
  return r.system + "/" + r.variant + (r.pipeline > 1 ? " P" + std::to_string(r.pipeline) : "");
}

// "client 0.93 + server 1.01 cores": the row's CPU over its wall time, for
// rows with a server process; empty for the others.
std::string CpuSplit(const RowResult& r) {
  if (r.server_cpu_s < 0 || r.seconds <= 0) return "";
  return Fmt("client %.2f", r.client_cpu_s / r.seconds) +
         Fmt(" + server %.2f cores", r.server_cpu_s / r.seconds);
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += Fmt("\\u%04x", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

}  // namespace

std::optional<double> FlashstockOverRow(const std::vector<RowResult>& rows, const RowResult& row) {
  for (const RowResult& base : rows) {
    if (base.system == kBaselineSystem && base.variant == kBaselineVariant &&
        base.workload == row.workload && base.clients == row.clients) {
      if (row.ops_per_sec <= 0 || base.ops_per_sec <= 0) return std::nullopt;
      return base.ops_per_sec / row.ops_per_sec;
    }
  }
  return std::nullopt;
}

void PrintTable(std::FILE* out, const std::vector<RowResult>& rows,
                const std::optional<FsyncRate>& fsync) {
  std::fprintf(out, "%-17s %-17s %-16s %7s %3s %9s %8s %8s %8s %10s %8s %8s %8s  %s\n", "system",
               "variant", "workload", "clients", "P", "ops/s", "p50_us", "p99_us", "p999_us", "sold",
               "oversold", "left", "fs/this", "check");
  std::vector<const RowResult*> failed;
  bool any_info = false;
  bool any_cpu = false;
  for (const RowResult& r : rows) {
    const std::optional<double> ratio = FlashstockOverRow(rows, r);
    std::string check(VerdictName(r.check.verdict));
    if (r.check.verdict == Verdict::kFailed) failed.push_back(&r);
    if (r.check.verdict == Verdict::kInfo) {
      check = "info*";
      any_info = true;
    }
    const std::string oversold = std::to_string(r.check.oversold_units) +
                                 (r.check.verdict == Verdict::kInfo ? "*" : "");
    const std::string cpu = CpuSplit(r);
    any_cpu = any_cpu || !cpu.empty();
    std::fprintf(out, "%-17s %-17s %-16s %7d %3d %9s %8s %8s %8s %10lld %8s %8s %8s  %s%s\n",
                 r.system.c_str(), r.variant.c_str(), r.workload.c_str(), r.clients, r.pipeline,
                 Rate(r.ops_per_sec).c_str(), Micros(r.p50_us).c_str(), Micros(r.p99_us).c_str(),
                 Micros(r.p999_us).c_str(), static_cast<long long>(r.check.accepted_units),
                 oversold.c_str(),
                 r.sell_out ? std::to_string(r.check.final_units).c_str() : "-",
                 ratio ? Ratio(*ratio).c_str() : "-", check.c_str(), cpu.empty() ? "" : ("  " + cpu).c_str());
  }
  if (fsync) {
    std::fprintf(out, "%-17s %-17s %-16s %7d %3d %9s %8s %8s %8s   (reference: the disk's own limit)\n",
                 "fdatasync", "64B-prealloc", "-", 1, 1, Rate(fsync->per_sec).c_str(),
                 Micros(fsync->p50_us).c_str(), Micros(fsync->p99_us).c_str(),
                 Micros(fsync->p999_us).c_str());
  }
  std::fprintf(out,
               "ops/s counts every buyer answered (sold or refused); fs/this = flashstock/none ops/s "
               "divided by the row's, same workload and clients; left = units unsold (sell-out rows).\n");
  if (any_cpu) {
    std::fprintf(out,
                 "P = takes in flight per client (pipelined rows: a take's latency is its batch's "
                 "round trip); cores = CPU seconds over the row's wall time, client = this "
                 "process, server = the server child (/proc/PID/stat); they share the machine.\n");
  }
  if (any_info) {
    std::fprintf(out,
                 "* atomic-fetch_sub is the physical limit (one RMW, no floor check): it oversells "
                 "by design, so its oversold column is informational and never fails the run.\n");
  }
  for (const RowResult* r : failed) {
    std::fprintf(out, "FAILED %s %s %d clients: %s\n", Name(*r).c_str(), r->workload.c_str(),
                 r->clients, r->check.why.c_str());
  }
}

void PrintHeadlines(std::FILE* out, const std::vector<RowResult>& rows) {
  bool header = false;
  for (const RowResult& base : rows) {
    if (base.system != kBaselineSystem || base.variant != kBaselineVariant) continue;
    if (!header) {
      std::fprintf(out, "\nHeadline: flashstock/none ops/s as a multiple of each back end's\n");
      header = true;
    }
    std::string line;
    for (const RowResult& r : rows) {
      if (&r == &base || r.workload != base.workload || r.clients != base.clients) continue;
      const std::optional<double> ratio = FlashstockOverRow(rows, r);
      if (!ratio) continue;
      line += "\n    " + Ratio(*ratio) + " " + Name(r);
      if (r.system == "atomic-cas") line += "  (target: flashstock >= 0.8x the raw CAS)";
    }
    std::fprintf(out, "  %s, %d client%s: flashstock %s ops/s =%s\n", base.workload.c_str(),
                 base.clients, base.clients == 1 ? "" : "s", Rate(base.ops_per_sec).c_str(), line.c_str());
  }
}

absl::Status WriteJson(const std::string& path, const std::vector<RowResult>& rows,
                       const std::optional<FsyncRate>& fsync) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return absl::InternalError("open " + path + ": " + std::strerror(errno));
  std::fprintf(f, "[\n");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const RowResult& r = rows[i];
    std::fprintf(f,
                 "  {\"system\": %s, \"variant\": %s, \"workload\": %s, \"clients\": %d, "
                 "\"pipeline\": %d, \"client_cpu_s\": %.3f, \"server_cpu_s\": %.3f, "
                 "\"ops\": %llu, \"accepted\": %llu, \"refused\": %llu, \"oversold\": %lld, "
                 "\"ops_per_sec\": %.1f, \"p50_us\": %.3f, \"p99_us\": %.3f, \"p999_us\": %.3f, "
                 "\"seconds\": %.3f, \"left\": %lld, \"unsold_with_demand\": %lld, "
                 "\"conservation_off\": %lld, \"check\": %s, \"why\": %s}%s\n",
                 JsonString(r.system).c_str(), JsonString(r.variant).c_str(),
                 JsonString(r.workload).c_str(), r.clients, r.pipeline, r.client_cpu_s,
                 r.server_cpu_s, static_cast<unsigned long long>(r.ops),
                 static_cast<unsigned long long>(r.accepted),
                 static_cast<unsigned long long>(r.refused),
                 static_cast<long long>(r.check.oversold_units), r.ops_per_sec, r.p50_us, r.p99_us,
                 r.p999_us, r.seconds, static_cast<long long>(r.check.final_units),
                 static_cast<long long>(r.check.unsold_with_demand_units),
                 static_cast<long long>(r.check.conservation_units_off),
                 JsonString(std::string(VerdictName(r.check.verdict))).c_str(),
                 JsonString(r.check.why).c_str(), (i + 1 < rows.size() || fsync) ? "," : "");
  }
  if (fsync) {
    std::fprintf(f,
                 "  {\"system\": \"fdatasync\", \"variant\": \"64B-prealloc\", \"workload\": "
                 "\"reference\", \"clients\": 1, \"ops\": %llu, \"accepted\": %llu, \"oversold\": 0, "
                 "\"ops_per_sec\": %.1f, \"p50_us\": %.3f, \"p99_us\": %.3f, \"p999_us\": %.3f}\n",
                 static_cast<unsigned long long>(fsync->syncs),
                 static_cast<unsigned long long>(fsync->syncs), fsync->per_sec, fsync->p50_us,
                 fsync->p99_us, fsync->p999_us);
  }
  std::fprintf(f, "]\n");
  if (std::fclose(f) != 0) return absl::InternalError("write " + path + ": " + std::strerror(errno));
  return absl::OkStatus();
}

absl::Status WriteSvg(const std::string& path, const std::vector<RowResult>& rows) {
  // Panels (workloads) and series (back ends) in first-seen order; clients sorted.
  std::vector<std::string> workloads, series;
  std::vector<int> clients;
  double lo = 1e300, hi = 0;
  for (const RowResult& r : rows) {
    if (std::find(workloads.begin(), workloads.end(), r.workload) == workloads.end()) {
      workloads.push_back(r.workload);
    }
    if (std::find(series.begin(), series.end(), Name(r)) == series.end()) series.push_back(Name(r));
    if (std::find(clients.begin(), clients.end(), r.clients) == clients.end()) {
      clients.push_back(r.clients);
    }
    if (r.ops_per_sec > 0) {
      lo = std::min(lo, r.ops_per_sec);
      hi = std::max(hi, r.ops_per_sec);
    }
  }
  std::sort(clients.begin(), clients.end());
  if (hi <= 0) lo = hi = 1;
  const int decade_lo = static_cast<int>(std::floor(std::log10(lo)));
  const int decade_hi = std::max(decade_lo + 1, static_cast<int>(std::ceil(std::log10(hi))));

  static const char* kColors[] = {"#d62728", "#1f77b4", "#7f7f7f", "#ff7f0e", "#2ca02c",
                                  "#98df8a", "#9467bd", "#c5b0d5", "#8c564b", "#c49c94",
                                  "#e377c2", "#f7b6d2", "#17becf", "#bcbd22"};
  const int kColorCount = sizeof kColors / sizeof kColors[0];
  const double left = 70, plot_w = 620, legend_w = 260, panel_h = 260, top = 40, gap = 50;
  const double width = left + plot_w + legend_w;
  const double height = top + workloads.size() * (panel_h + gap) + 10;

  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return absl::InternalError("open " + path + ": " + std::strerror(errno));
  std::fprintf(f,
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "font-family=\"sans-serif\" font-size=\"11\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
               "<text x=\"%.0f\" y=\"20\" font-size=\"14\">flash sale: ops/s by back end and "
               "clients (log scale)</text>\n",
               width, height, left);
  auto y_of = [&](double v, double y0) {
    const double t = (std::log10(v) - decade_lo) / (decade_hi - decade_lo);
    return y0 + panel_h - t * panel_h;
  };
  for (std::size_t p = 0; p < workloads.size(); ++p) {
    const double y0 = top + p * (panel_h + gap);
    std::fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-weight=\"bold\">%s</text>\n", left, y0 - 6,
                 XmlEscape(workloads[p]).c_str());
    std::fprintf(f,
                 "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
                 "stroke=\"#444\"/>\n",
                 left, y0, plot_w, panel_h);
    for (int d = decade_lo; d <= decade_hi; ++d) {
      const double y = y_of(std::pow(10.0, d), y0);
      std::fprintf(f,
                   "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                   "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">1e%d</text>\n",
                   left, left + plot_w, y, y, left - 4, y + 4, d);
    }
    const double group_w = plot_w / clients.size();
    const double bar_w = std::max(1.0, (group_w - 16) / series.size());
    for (std::size_t c = 0; c < clients.size(); ++c) {
      const double gx = left + c * group_w;
      std::fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%d client%s</text>\n",
                   gx + group_w / 2, y0 + panel_h + 14, clients[c], clients[c] == 1 ? "" : "s");
      for (std::size_t s = 0; s < series.size(); ++s) {
        for (const RowResult& r : rows) {
          if (r.workload != workloads[p] || r.clients != clients[c] || Name(r) != series[s] ||
              r.ops_per_sec <= 0) {
            continue;
          }
          const double y = y_of(r.ops_per_sec, y0);
          std::fprintf(f,
                       "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                       "<title>%s %d clients: %.0f ops/s</title></rect>\n",
                       gx + 8 + s * bar_w, y, bar_w, y0 + panel_h - y, kColors[s % kColorCount],
                       XmlEscape(series[s]).c_str(), clients[c], r.ops_per_sec);
        }
      }
    }
  }
  for (std::size_t s = 0; s < series.size(); ++s) {
    const double y = top + 10 + s * 16;
    std::fprintf(f,
                 "<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                 "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n",
                 left + plot_w + 14, y, kColors[s % kColorCount], left + plot_w + 28, y + 9,
                 XmlEscape(series[s]).c_str());
  }
  std::fprintf(f, "</svg>\n");
  if (std::fclose(f) != 0) return absl::InternalError("write " + path + ": " + std::strerror(errno));
  return absl::OkStatus();
}

}  // namespace flashsale
