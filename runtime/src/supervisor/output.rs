//! Plugin stdout/stderr → `tracing` events, hclog JSON levels, and the stderr tail kept for errors.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tracing::Level;

/// Longest line kept from a plugin's stdout or stderr; the rest of a longer line is dropped.
pub(crate) const MAX_LINE: usize = 64 * 1024;
/// How many stderr lines an error message carries.
const TAIL_LINES: usize = 20;
/// How long a stderr line may be inside an error message.
const TAIL_LINE_CHARS: usize = 512;

/// Reads one line (without its `\n`/`\r\n`) into `buf`, keeping at most [`MAX_LINE`] bytes.
/// Returns `false` at end of stream with nothing read.
pub(crate) async fn read_line_capped<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<bool> {
    buf.clear();
    let mut read_any = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            break;
        }
        read_any = true;
        let (chunk, used, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        reader.consume(used);
        if done {
            break;
        }
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(read_any)
}

/// The last lines a plugin wrote to stderr, for error messages.
#[derive(Clone, Default)]
pub(crate) struct StderrBuffer(Arc<Mutex<VecDeque<String>>>);

impl StderrBuffer {
    pub(crate) fn push(&self, line: &str) {
        let mut line = line.to_string();
        if line.len() > TAIL_LINE_CHARS {
            let mut cut = TAIL_LINE_CHARS;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push('…');
        }
        let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    pub(crate) fn snapshot(&self) -> StderrTail {
        let lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        StderrTail {
            lines: lines.iter().cloned().collect(),
        }
    }
}

/// The last lines (at most 20) a plugin process wrote to stderr, carried by start errors.
///
/// Displays as `"; stderr: …"` (one line) or an indented block, or as nothing when empty, so it can
/// be appended to any message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StderrTail {
    /// The lines, oldest first.
    pub lines: Vec<String>,
}

impl StderrTail {
    /// Whether the plugin wrote nothing to stderr.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

impl fmt::Display for StderrTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.lines.as_slice() {
            [] => Ok(()),
            [one] => write!(f, "; stderr: {one}"),
            lines => {
                write!(f, "; stderr (last {} lines):", lines.len())?;
                for line in lines {
                    write!(f, "\n    {line}")?;
                }
                Ok(())
            }
        }
    }
}

/// A stderr line in hclog's JSON format (`{"@level":"info","@message":"…",…}`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HclogLine {
    pub level: Level,
    pub message: String,
    pub module: Option<String>,
    /// The other key/values, as compact JSON (`{}` omitted).
    pub fields: Option<String>,
    /// Key/values whose text spans lines (a traceback), kept whole to print as they are.
    pub blocks: Vec<(String, String)>,
}

/// Parses an hclog JSON line; `None` when the line is not one.
pub(crate) fn parse_hclog(line: &str) -> Option<HclogLine> {
    let trimmed = line.trim();
    if !trimmed.starts_with('{') {
        return None;
    }
    let serde_json::Value::Object(mut map) = serde_json::from_str(trimmed).ok()? else {
        return None;
    };
    if !map.contains_key("@message") && !map.contains_key("@level") {
        return None;
    }
    let text = |v: serde_json::Value| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    let level = match map.remove("@level").map(text).as_deref() {
        Some("trace") => Level::TRACE,
        Some("debug") => Level::DEBUG,
        Some("warn") | Some("warning") => Level::WARN,
        Some("error") => Level::ERROR,
        _ => Level::INFO,
    };
    let message = map.remove("@message").map(text).unwrap_or_default();
    let module = map.remove("@module").map(text);
    map.remove("@timestamp");
    map.remove("@caller");
    let multiline: Vec<String> = map
        .iter()
        .filter(|(_, v)| v.as_str().is_some_and(|s| s.contains('\n')))
        .map(|(k, _)| k.clone())
        .collect();
    let blocks = multiline
        .into_iter()
        .filter_map(|k| Some((k.clone(), text(map.remove(&k)?))))
        .collect();
    let fields = (!map.is_empty()).then(|| serde_json::Value::Object(map).to_string());
    Some(HclogLine {
        level,
        message,
        module,
        fields,
        blocks,
    })
}

/// Where a Python traceback failed in the plugin's own code: the innermost frame outside the
/// standard library and installed packages, as ` (at plugin.py:12 in on_activate)`.
fn plugin_frame(traceback: &str) -> String {
    traceback
        .lines()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix("File \"")?;
            let (path, rest) = rest.split_once("\", line ")?;
            let (line, func) = rest.split_once(", in ").unwrap_or((rest, "?"));
            Some((path, line, func))
        })
        .rfind(|(path, _, _)| {
            !path.contains("site-packages")
                && !path.contains("/lib/python")
                && !path.starts_with('<')
        })
        .map(|(path, line, func)| {
            let file = path.rsplit('/').next().unwrap_or(path);
            format!(" (at {file}:{line} in {func})")
        })
        .unwrap_or_default()
}

/// A multi-line text (a traceback) after its summary: the plugin's frame first, then the lines
/// as they are.
fn with_blocks(message: &str, blocks: &[(String, String)]) -> String {
    let mut out = message.to_string();
    for (key, text) in blocks {
        let last = text.trim_end().lines().last().unwrap_or("");
        if text.contains("Traceback (most recent call last)") {
            out.push_str(&format!(": {last}{}", plugin_frame(text)));
        }
        out.push_str(&format!("\n{key}:\n{}", text.trim_end()));
    }
    out
}

/// A plugin's stderr, line by line: hclog lines keep their level; a Python traceback written as
/// it is (an exception escaping at import, before the SDK logs anything) becomes one ERROR event
/// naming the exception and the plugin's frame, not a line per frame at INFO.
#[derive(Default)]
pub(crate) struct StderrLines {
    traceback: Option<Vec<String>>,
}

/// What one stderr line comes to.
#[derive(Debug, PartialEq)]
pub(crate) enum StderrEvent {
    /// A line of its own (hclog or plain).
    Line(String),
    /// A whole traceback: its summary, then its lines.
    Traceback(String),
}

/// Frames past which a traceback is emitted anyway (a runaway one must not grow without bound).
const MAX_TRACEBACK_LINES: usize = 400;

impl StderrLines {
    pub(crate) fn push(&mut self, line: &str) -> Option<StderrEvent> {
        if let Some(lines) = &mut self.traceback {
            lines.push(line.to_string());
            // The exception's own line is the first one back at the margin.
            let ends = !line.is_empty() && !line.starts_with(char::is_whitespace);
            return (ends || lines.len() >= MAX_TRACEBACK_LINES)
                .then(|| self.finish())
                .flatten();
        }
        if line.starts_with("Traceback (most recent call last):") {
            self.traceback = Some(vec![line.to_string()]);
            return None;
        }
        Some(StderrEvent::Line(line.to_string()))
    }

    /// A traceback still being collected (the stream ended inside it).
    pub(crate) fn finish(&mut self) -> Option<StderrEvent> {
        let lines = self.traceback.take()?;
        let text = lines.join("\n");
        let last = lines.last().map(String::as_str).unwrap_or("");
        Some(StderrEvent::Traceback(format!(
            "{last}{}\n{text}",
            plugin_frame(&text)
        )))
    }
}

/// Emits what [`StderrLines`] made of a stderr line.
pub(crate) fn emit_stderr(plugin_id: &str, generation: u64, event: StderrEvent) {
    match event {
        StderrEvent::Line(line) => emit_line(plugin_id, generation, "stderr", &line),
        StderrEvent::Traceback(text) => {
            tracing::error!(target: "mattermost_plugin_runtime::plugin", plugin_id, generation,
                stream = "stderr", "{text}")
        }
    }
}

/// Emits one line of plugin output as a `tracing` event (target `mattermost_plugin_runtime::plugin`).
pub(crate) fn emit_line(plugin_id: &str, generation: u64, stream: &'static str, line: &str) {
    if let Some(hclog) = (stream == "stderr").then(|| parse_hclog(line)).flatten() {
        let module = hclog.module.as_deref().unwrap_or("");
        let fields = hclog.fields.as_deref().unwrap_or("");
        let message = with_blocks(&hclog.message, &hclog.blocks);
        macro_rules! hclog_event {
            ($level:expr) => {
                tracing::event!(target: "mattermost_plugin_runtime::plugin", $level,
                    plugin_id, generation, stream, module, fields, "{message}")
            };
        }
        match hclog.level {
            Level::TRACE => hclog_event!(Level::TRACE),
            Level::DEBUG => hclog_event!(Level::DEBUG),
            Level::WARN => hclog_event!(Level::WARN),
            Level::ERROR => hclog_event!(Level::ERROR),
            _ => hclog_event!(Level::INFO),
        }
        return;
    }
    tracing::info!(target: "mattermost_plugin_runtime::plugin", plugin_id, generation, stream, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACEBACK: &str = "Traceback (most recent call last):
  File \"/srv/plugins/hello/plugin.py\", line 30, in <module>
    run_plugin(Hello)
  File \"/srv/plugins/hello/.venv/lib/python3.12/site-packages/mattermost_plugin/server.py\", line 130, in run_plugin
    raise RuntimeError(\"boom\")
  File \"/srv/plugins/hello/plugin.py\", line 12, in on_activate
    self.api.get_user(user_id=1)
  File \"/usr/lib/python3.12/json/__init__.py\", line 346, in loads
    return _default_decoder.decode(s)
ValueError: bad value";

    #[test]
    fn a_raw_traceback_is_one_event_naming_the_plugin_frame() {
        let mut lines = StderrLines::default();
        assert_eq!(
            lines.push("starting"),
            Some(StderrEvent::Line("starting".into()))
        );
        let mut events = Vec::new();
        for line in TRACEBACK.lines() {
            events.extend(lines.push(line));
        }
        let [StderrEvent::Traceback(text)] = events.as_slice() else {
            panic!("{events:?}")
        };
        let first = text.lines().next().unwrap();
        assert_eq!(
            first,
            "ValueError: bad value (at plugin.py:12 in on_activate)"
        );
        assert!(text.ends_with(TRACEBACK), "{text}");
        // Cut short by the process ending: what was collected still comes out.
        lines.push("Traceback (most recent call last):");
        lines.push("  File \"x.py\", line 1, in <module>");
        assert!(matches!(lines.finish(), Some(StderrEvent::Traceback(t)) if t.contains("x.py:1")));
        assert_eq!(lines.finish(), None);
    }

    #[test]
    fn hclog_tracebacks_keep_their_lines() {
        let line = serde_json::json!({
            "@level": "error", "@message": "hook MessageWillBePosted failed",
            "error": TRACEBACK, "hook": "MessageWillBePosted",
        })
        .to_string();
        let parsed = parse_hclog(&line).unwrap();
        assert_eq!(
            parsed.fields.as_deref(),
            Some(r#"{"hook":"MessageWillBePosted"}"#)
        );
        let message = with_blocks(&parsed.message, &parsed.blocks);
        assert!(message.starts_with(
            "hook MessageWillBePosted failed: ValueError: bad value (at plugin.py:12 in on_activate)\nerror:\nTraceback"
        ), "{message}");
        assert!(
            message
                .contains("\n  File \"/srv/plugins/hello/plugin.py\", line 12, in on_activate\n")
        );
    }

    #[test]
    fn hclog_levels_and_fields() {
        let line = r#"{"@level":"warn","@message":"disk almost full","@module":"plugin.store","@timestamp":"2024-01-01T00:00:00Z","free":12}"#;
        let parsed = parse_hclog(line).unwrap();
        assert_eq!(parsed.level, Level::WARN);
        assert_eq!(parsed.message, "disk almost full");
        assert_eq!(parsed.module.as_deref(), Some("plugin.store"));
        assert_eq!(parsed.fields.as_deref(), Some(r#"{"free":12}"#));
        assert_eq!(
            parse_hclog(r#"{"@level":"error","@message":"x"}"#)
                .unwrap()
                .level,
            Level::ERROR
        );
        assert_eq!(
            parse_hclog(r#"{"@level":"debug","@message":"x"}"#)
                .unwrap()
                .level,
            Level::DEBUG
        );
        assert_eq!(
            parse_hclog(r#"{"@level":"trace","@message":"x"}"#)
                .unwrap()
                .level,
            Level::TRACE
        );
        assert_eq!(
            parse_hclog(r#"{"@message":"x"}"#).unwrap().level,
            Level::INFO
        );
        assert!(parse_hclog("panic: runtime error").is_none());
        assert!(parse_hclog(r#"{"not":"hclog"}"#).is_none());
        assert!(parse_hclog("{broken").is_none());
    }

    #[test]
    fn stderr_tail_keeps_the_last_lines() {
        let buf = StderrBuffer::default();
        assert_eq!(buf.snapshot().to_string(), "");
        buf.push("only");
        assert_eq!(buf.snapshot().to_string(), "; stderr: only");
        for i in 0..30 {
            buf.push(&format!("line {i}"));
        }
        let tail = buf.snapshot();
        assert_eq!(tail.lines.len(), 20);
        assert_eq!(tail.lines[0], "line 10");
        assert!(tail.to_string().ends_with("\n    line 29"));
        buf.push(&"é".repeat(600));
        assert!(buf.snapshot().lines.last().unwrap().ends_with('…'));
    }

    #[tokio::test]
    async fn capped_lines() {
        let mut data = b"short\r\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        data.extend(b"\nlast");
        let mut reader = tokio::io::BufReader::with_capacity(1024, data.as_slice());
        let mut buf = Vec::new();
        assert!(read_line_capped(&mut reader, &mut buf).await.unwrap());
        assert_eq!(buf, b"short");
        assert!(read_line_capped(&mut reader, &mut buf).await.unwrap());
        assert_eq!(buf.len(), MAX_LINE);
        assert!(read_line_capped(&mut reader, &mut buf).await.unwrap());
        assert_eq!(buf, b"last");
        assert!(!read_line_capped(&mut reader, &mut buf).await.unwrap());
    }
}
