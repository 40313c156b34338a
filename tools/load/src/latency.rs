//! Percentiles of a latency distribution.
//!
//! Averages hide what users feel: one request in a hundred taking half a
//! second barely moves the mean. So every mode records each sample in an
//! HDR histogram (microseconds, three significant digits) and reports the
//! median (p50), the 99th percentile (p99) and the worst (max).

use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;

/// The longest latency the histograms hold; longer samples count as this.
const LONGEST: Duration = Duration::from_secs(120);

/// An empty histogram of microseconds.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LONGEST.as_micros() as u64, 3).expect("the bounds are valid")
}

/// Records `sample` in `histogram`, in microseconds.
pub fn record(histogram: &mut Histogram<u64>, sample: Duration) {
    histogram.saturating_record(sample.as_micros().max(1) as u64);
}

/// What a histogram says, in a few numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub count: u64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Latency {
    pub fn of(histogram: &Histogram<u64>) -> Self {
        let micros = |value: u64| Duration::from_micros(value);
        Latency {
            count: histogram.len(),
            p50: micros(histogram.value_at_quantile(0.50)),
            p99: micros(histogram.value_at_quantile(0.99)),
            max: micros(histogram.max()),
        }
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.count == 0 {
            return write!(f, "no samples");
        }
        write!(f, "p50 {}  p99 {}  max {}", millis(self.p50), millis(self.p99), millis(self.max))
    }
}

/// `0.213 ms`, `12.4 ms`, `250 ms`: three significant digits or so.
pub fn millis(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1e3;
    if ms < 1.0 {
        format!("{ms:.3} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_every_sample() {
        let mut h = histogram();
        for ms in 1..=100 {
            record(&mut h, Duration::from_millis(ms));
        }
        let latency = Latency::of(&h);
        assert_eq!(latency.count, 100);
        let near =
            |d: Duration, ms: u64| d.abs_diff(Duration::from_millis(ms)) < Duration::from_micros(ms * 2);
        assert!(near(latency.p50, 50), "{latency:?}");
        assert!(near(latency.p99, 99), "{latency:?}");
        assert!(near(latency.max, 100), "{latency:?}");
    }

    #[test]
    fn durations_print_with_sensible_precision() {
        assert_eq!(millis(Duration::from_micros(213)), "0.213 ms");
        assert_eq!(millis(Duration::from_micros(12_400)), "12.4 ms");
        assert_eq!(millis(Duration::from_millis(250)), "250 ms");
    }
}
