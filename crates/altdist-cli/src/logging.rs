//! The server's logging: lines formatted where they are logged, written to stderr by a thread of
//! their own through a bounded queue.

use std::fmt::{self, Write as _};
use std::io::{BufWriter, IsTerminal as _, Write as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The shape of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `TIME LEVEL span{fields}: target: message field=value ...`, the level coloured only on a
    /// terminal.
    Text,
    /// One JSON object per line, its fields at the top level.
    Json,
}

/// Log lines the queue holds before new ones are dropped (about 200 bytes each).
const LOG_QUEUE_LINES: usize = 32_768;

/// How often dropped log lines are reported while serving.
const DROPPED_REPORT_EVERY: Duration = Duration::from_secs(10);

/// The logger: lines are formatted on the thread that logs and written to stderr by a thread of
/// their own, through a bounded queue.
///
/// A write to stderr per request cost the server a system call on every request and, when the
/// reader is slow, would have blocked requests. When the queue is full a line is dropped and
/// counted instead (reported every [`DROPPED_REPORT_EVERY`] and on shutdown): a stalled log
/// reader costs log lines, never requests.
pub struct Logging {
    guard: WorkerGuard,
    dropped: ErrorCounter,
    format: LogFormat,
    reporter: std::thread::JoinHandle<()>,
    stop_reporter: std::sync::mpsc::Sender<()>,
}

impl Logging {
    pub fn start(format: LogFormat) -> Self {
        let stderr = std::io::stderr();
        let ansi = stderr.is_terminal();
        // Buffered: the writer thread drains the queue in batches and flushes when it is empty,
        // one write(2) per batch rather than per line.
        let (writer, guard) = NonBlockingBuilder::default()
            .buffered_lines_limit(LOG_QUEUE_LINES)
            .lossy(true)
            .thread_name("altdist-log")
            .finish(BufWriter::with_capacity(64 * 1024, stderr));
        let dropped = writer.error_counter();
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(writer)
            .with_ansi(ansi);
        let _ = match format {
            LogFormat::Text => builder.event_format(TextLine).try_init(),
            LogFormat::Json => builder.json().flatten_event(true).try_init(),
        };
        let (stop_reporter, stop) = std::sync::mpsc::channel();
        let reporter = {
            let dropped = dropped.clone();
            std::thread::Builder::new()
                .name("altdist-log-report".into())
                .spawn(move || report_dropped(&dropped, &stop))
                .expect("spawn the log reporter")
        };
        Self {
            guard,
            dropped,
            format,
            reporter,
            stop_reporter,
        }
    }

    /// Writes out the queue, then says how many lines were dropped, if any.
    pub fn finish(self) {
        let _ = self.stop_reporter.send(());
        let _ = self.reporter.join();
        drop(self.guard);
        let dropped = self.dropped.dropped_lines();
        if dropped == 0 {
            return;
        }
        // Straight to stderr: the writer thread is gone, and its queue may have been the
        // problem.
        let message = "log lines dropped: the log queue was full (stderr not read fast enough)";
        let line = match self.format {
            LogFormat::Text => format!("WARN altdist: {message}: dropped_lines={dropped}\n"),
            LogFormat::Json => format!(
                "{}\n",
                serde_json::json!({"level": "WARN", "target": "altdist", "message": message, "dropped_lines": dropped})
            ),
        };
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}

fn report_dropped(dropped: &ErrorCounter, stop: &std::sync::mpsc::Receiver<()>) {
    let mut reported = 0;
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
        stop.recv_timeout(DROPPED_REPORT_EVERY)
    {
        let now = dropped.dropped_lines();
        if now != reported {
            // Through the queue like any line: if this one is dropped too, the next report
            // counts it.
            tracing::warn!(
                dropped_lines = now,
                "log lines dropped: the log queue was full (stderr not read fast enough)"
            );
            reported = now;
        }
    }
}

/// The text line: tracing-subscriber's default layout, written without its per-field styling.
///
/// With one access line per request, the default formatter cost about 12,000 instructions a
/// line (each field and the timestamp through padded, styled `fmt` calls, styled even when
/// colour is off), an eighth of all the server spent on a key read. This one writes the same
/// fields in the same places for a fraction of that.
struct TextLine;

impl<S, N> FormatEvent<S, N> for TextLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::with_capacity(256);
        write_timestamp(&mut line, SystemTime::now());
        let metadata = event.metadata();
        let (level, colour) = match *metadata.level() {
            Level::ERROR => ("ERROR", "31"),
            Level::WARN => (" WARN", "33"),
            Level::INFO => (" INFO", "32"),
            Level::DEBUG => ("DEBUG", "34"),
            Level::TRACE => ("TRACE", "35"),
        };
        line.push(' ');
        if writer.has_ansi_escapes() {
            let _ = write!(line, "\x1b[{colour}m{level}\x1b[0m ");
        } else {
            line.push_str(level);
            line.push(' ');
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                line.push_str(span.name());
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    line.push('{');
                    line.push_str(fields);
                    line.push('}');
                }
                line.push_str(": ");
            }
        }
        line.push_str(metadata.target());
        line.push_str(": ");
        let mut fields = Fields {
            line: &mut line,
            first: true,
        };
        event.record(&mut fields);
        line.push('\n');
        writer.write_str(&line)
    }
}

/// Writes `message` as is and every other field as ` name=value`, strings quoted and escaped
/// (a client's request id cannot forge a field), numbers plain.
struct Fields<'a> {
    line: &'a mut String,
    first: bool,
}

impl Fields<'_> {
    fn name(&mut self, field: &Field) {
        if !std::mem::take(&mut self.first) {
            self.line.push(' ');
        }
        self.line.push_str(field.name());
        self.line.push('=');
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.first = false;
            self.line.push_str(value);
            return;
        }
        self.name(field);
        let _ = write!(self.line, "{value:?}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.name(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.name(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.name(field);
        self.line.push_str(if value { "true" } else { "false" });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.first = false;
            let _ = write!(self.line, "{value:?}");
            return;
        }
        self.name(field);
        let _ = write!(self.line, "{value:?}");
    }
}

/// `2026-12-03T07:02:11.532954Z`: RFC 3339, UTC, microseconds.
fn write_timestamp(line: &mut String, now: SystemTime) {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let (days, of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(i64::try_from(days).unwrap_or(0));
    let _ = write!(
        line,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since_epoch.subsec_micros()
    );
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = u32::try_from(day_of_year - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_are_rfc_3339_utc_with_microseconds() {
        let at = |seconds: u64, micros: u64| {
            let mut line = String::new();
            write_timestamp(
                &mut line,
                UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_micros(micros),
            );
            line
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 7), "2000-02-29T00:00:00.000007Z");
        assert_eq!(at(1_796_281_331, 532_954), "2026-12-03T07:02:11.532954Z");
        assert_eq!(at(4_102_444_799, 999_999), "2099-12-31T23:59:59.999999Z");
    }

    #[test]
    fn a_line_has_the_default_layout_and_quotes_strings() {
        let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || Sink(std::sync::Arc::clone(&sink)))
            .with_ansi(false)
            .event_format(TextLine)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(
                target: "altdist_server::access",
                request_id = "a\" forged=1",
                method = %"GET",
                status = 200_u16,
                "response"
            );
            tracing::info_span!("outer", n = 1).in_scope(|| tracing::warn!("inside"));
        });
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let (time, rest) = lines[0].split_once(' ').unwrap();
        assert_eq!(time.len(), "2026-12-03T07:02:11.532954Z".len());
        assert_eq!(
            rest,
            r#" INFO altdist_server::access: response request_id="a\" forged=1" method=GET status=200"#
        );
        assert!(
            lines[1].ends_with(" WARN outer{n=1}: altdist::logging::tests: inside"),
            "{}",
            lines[1]
        );
    }

    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
