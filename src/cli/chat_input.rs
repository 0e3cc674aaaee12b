//! Where chat lines come from: a line editor with history on a terminal, lines of bytes on a pipe.
//! A line that is not UTF-8 or longer than [`MAX_LINE`] is skipped with a notice, never echoed back
//! and never the end of the session.

use std::io::{BufRead, IsTerminal};

use rustyline::error::ReadlineError;

/// The longest chat message taken (64 KiB); longer lines are skipped.
pub const MAX_LINE: usize = 64 * 1024;

/// One read.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// A message.
    Line(String),
    /// A line that was skipped, and why (for the user; it never holds the line).
    Skipped(String),
    /// End of input (Ctrl-D, end of the pipe) or Ctrl-C: leave cleanly.
    End,
}

/// The source of chat lines.
pub enum Input {
    /// A terminal: rustyline with in-memory history.
    Terminal(Box<rustyline::DefaultEditor>),
    /// Anything else, read as bytes.
    Pipe(std::io::StdinLock<'static>, usize),
}

impl Input {
    /// The terminal editor when stdin is a terminal (and one can be made), else the pipe.
    pub fn open() -> Input {
        if std::io::stdin().is_terminal()
            && let Ok(editor) = rustyline::DefaultEditor::new()
        {
            return Input::Terminal(Box::new(editor));
        }
        Input::Pipe(std::io::stdin().lock(), 0)
    }

    /// True for the line editor.
    pub fn interactive(&self) -> bool {
        matches!(self, Input::Terminal(_))
    }

    /// The next line.
    pub fn read(&mut self) -> Read {
        match self {
            Input::Terminal(editor) => match editor.readline("> ") {
                Ok(line) if line.len() > MAX_LINE => Read::Skipped(too_long(line.len())),
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                    }
                    Read::Line(line)
                }
                Err(ReadlineError::Interrupted | ReadlineError::Eof) => Read::End,
                Err(e) => Read::Skipped(format!("the terminal could not be read ({e})")),
            },
            Input::Pipe(stdin, n) => {
                *n += 1;
                read_capped(stdin, *n)
            }
        }
    }
}

fn too_long(bytes: usize) -> String {
    format!(
        "a message of {bytes} bytes is longer than {} KiB; skipped",
        MAX_LINE / 1024
    )
}

/// Reads one line of at most [`MAX_LINE`] bytes (the rest of a longer one is read and dropped).
fn read_capped(input: &mut impl BufRead, n: usize) -> Read {
    let mut line = Vec::new();
    let mut total = 0usize;
    loop {
        let (done, used) = match input.fill_buf() {
            Ok([]) if total == 0 => return Read::End,
            Ok([]) => (true, 0),
            Ok(buf) => match memchr::memchr(b'\n', buf) {
                Some(i) => {
                    if line.len() < MAX_LINE + 1 {
                        line.extend_from_slice(&buf[..i.min(MAX_LINE + 1 - line.len())]);
                    }
                    (true, i + 1)
                }
                None => {
                    if line.len() < MAX_LINE + 1 {
                        let room = MAX_LINE + 1 - line.len();
                        line.extend_from_slice(&buf[..buf.len().min(room)]);
                    }
                    (false, buf.len())
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Read::Skipped(format!("stdin could not be read ({e})")),
        };
        total += used;
        input.consume(used);
        if done {
            break;
        }
    }
    if line.len() > MAX_LINE {
        return Read::Skipped(format!(
            "line {n}: {}",
            too_long(total.saturating_sub(1).max(line.len()))
        ));
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    match String::from_utf8(line) {
        Ok(text) => Read::Line(text),
        Err(_) => Read::Skipped(format!("line {n} is not valid UTF-8; skipped")),
    }
}

#[cfg(test)]
mod tests {
    use super::{Read, read_capped};

    #[test]
    fn bad_lines_are_skipped_and_the_next_one_is_read() {
        let mut data = b"hello\n\xff\xfe bad\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
        data.extend_from_slice(b"\nafter\r\nlast");
        let mut input = std::io::BufReader::with_capacity(4096, &data[..]);
        assert_eq!(read_capped(&mut input, 1), Read::Line("hello".into()));
        assert_eq!(
            read_capped(&mut input, 2),
            Read::Skipped("line 2 is not valid UTF-8; skipped".into())
        );
        match read_capped(&mut input, 3) {
            Read::Skipped(why) => {
                assert!(
                    why.contains("longer than 64 KiB") && why.len() < 200,
                    "{why}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(read_capped(&mut input, 4), Read::Line("after".into()));
        assert_eq!(read_capped(&mut input, 5), Read::Line("last".into()));
        assert_eq!(read_capped(&mut input, 6), Read::End);
    }
}
