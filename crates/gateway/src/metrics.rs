//! Request counts and latency histograms by method, route pattern and status,
//! rendered as Prometheus text. Every label comes from a closed set, so no
//! client can multiply the series: the method is one of the standard ones or
//! `other`, the route is a registered pattern (`/api/v1/cases/{case}`) or
//! `unmatched`, never a concrete path, and the status is a code the server
//! chose.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const BUCKETS: [f64; 12] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// (method, route pattern, status)
type Key = (&'static str, String, u16);

/// The method as a label: one of the methods HTTP defines, or `other`.
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "CONNECT" => "CONNECT",
        _ => "other",
    }
}

#[derive(Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

pub struct Metrics {
    started: Instant,
    http: Mutex<BTreeMap<Key, Series>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            http: Mutex::new(BTreeMap::new()),
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    /// Counts one answered request. `route` must be a registered pattern or
    /// `unmatched`; the method is reduced to [`method_label`].
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let method = method_label(method);
        if let Ok(mut m) = self.http.lock() {
            let s = m.entry((method, route.to_owned(), status)).or_default();
            s.count += 1;
            s.sum += secs;
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    s.buckets[i] += 1;
                }
            }
        }
    }

    /// Prometheus text exposition; `extra` is appended as-is (gauges read at scrape time).
    pub fn render(&self, extra: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP dentex_http_requests_total HTTP requests answered, by method, route and status."
        );
        let _ = writeln!(out, "# TYPE dentex_http_requests_total counter");
        let snapshot: Vec<(Key, Series)> = self
            .http
            .lock()
            .map(|m| m.iter().map(|(k, s)| (k.clone(), s.clone())).collect())
            .unwrap_or_default();
        for ((method, route, status), Series { count, .. }) in &snapshot {
            let _ = writeln!(
                out,
                "dentex_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                esc(route)
            );
        }
        let _ = writeln!(
            out,
            "# HELP dentex_http_request_duration_seconds Time to answer HTTP requests."
        );
        let _ = writeln!(out, "# TYPE dentex_http_request_duration_seconds histogram");
        for ((method, route, status), Series { count, sum, buckets }) in &snapshot {
            let labels = format!("method=\"{method}\",route=\"{}\",status=\"{status}\"", esc(route));
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "dentex_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "dentex_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(out, "dentex_http_request_duration_seconds_sum{{{labels}}} {sum}");
            let _ = writeln!(out, "dentex_http_request_duration_seconds_count{{{labels}}} {count}");
        }
        let _ = writeln!(out, "# HELP dentex_uptime_seconds Seconds since this process started.");
        let _ = writeln!(out, "# TYPE dentex_uptime_seconds gauge");
        let _ = writeln!(out, "dentex_uptime_seconds {}", self.started.elapsed().as_secs_f64());
        out.push_str(extra);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.observe("GET", "/healthz", 200, Duration::from_millis(3));
        m.observe("GET", "/healthz", 200, Duration::from_millis(30));
        let t = m.render("");
        assert!(
            t.contains("dentex_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"),
            "{t}"
        );
        assert!(t.contains("le=\"0.005\"} 1"), "{t}");
        assert!(t.contains("le=\"0.05\"} 2"), "{t}");
        assert!(t.contains("le=\"+Inf\"} 2"), "{t}");
    }

    #[test]
    fn made_up_methods_share_one_label() {
        let m = Metrics::default();
        for i in 0..100 {
            m.observe(&format!("XYZ{i}"), "unmatched", 404, Duration::from_millis(1));
        }
        let t = m.render("");
        assert!(
            t.contains("dentex_http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 100"),
            "{t}"
        );
        assert!(!t.contains("XYZ"), "{t}");
    }
}
