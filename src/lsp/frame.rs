//! JSON-RPC framing (`Content-Length: N\r\n\r\n` + body) read defensively.
//!
//! tower-lsp-server's own reader ends the session on the first undecodable frame (tokio-util's
//! `FramedRead` fuses after a decode error, tokio#3976), so one bad message from a client or a
//! proxy would take every open document down. This reader turns each bad frame into a
//! `Frame::Rejected` with a reason and keeps going; bodies over the size limit are skipped
//! without being buffered.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// Largest header block accepted; a real one is ~30 bytes.
const MAX_HEADER_BYTES: usize = 8 * 1024;

/// What one read from the stream produced.
#[derive(Debug)]
pub enum Frame {
    Body(Vec<u8>),
    /// A frame that cannot be delivered; the stream is positioned after it.
    Rejected(String),
}

pub struct FrameReader<R> {
    input: R,
    max_body_bytes: usize,
}

impl<R: AsyncBufRead + Unpin> FrameReader<R> {
    pub fn new(input: R, max_body_bytes: usize) -> Self {
        Self {
            input,
            max_body_bytes,
        }
    }

    /// The next frame, or `None` at the end of the stream (also when it ends mid-frame: a
    /// client that hangs up mid-message has nothing left to answer).
    pub async fn next(&mut self) -> std::io::Result<Option<Frame>> {
        let mut content_length: Option<Result<usize, String>> = None;
        let mut header_bytes = 0;
        let mut saw_header_line = false;
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = (&mut self.input)
                .take((MAX_HEADER_BYTES + 1) as u64)
                .read_until(b'\n', &mut line)
                .await?;
            if n == 0 {
                return Ok(None);
            }
            header_bytes += n;
            if header_bytes > MAX_HEADER_BYTES {
                self.skip_line_rest(&line).await?;
                return Ok(Some(Frame::Rejected(format!(
                    "header block longer than {MAX_HEADER_BYTES} bytes without an empty line: skipped"
                ))));
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            if text.is_empty() {
                if !saw_header_line {
                    continue; // stray blank line between frames
                }
                break;
            }
            saw_header_line = true;
            if let Some((name, value)) = text.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    content_length =
                        Some(value.trim().parse::<usize>().map_err(|e| {
                            format!("invalid Content-Length {:?}: {e}", value.trim())
                        }));
                }
            }
        }
        let len = match content_length {
            None => {
                return Ok(Some(Frame::Rejected(
                    "message without a Content-Length header: skipped".into(),
                )))
            }
            Some(Err(reason)) => return Ok(Some(Frame::Rejected(reason))),
            Some(Ok(len)) => len,
        };
        if len > self.max_body_bytes {
            let skipped = tokio::io::copy(
                &mut (&mut self.input).take(len as u64),
                &mut tokio::io::sink(),
            )
            .await?;
            if skipped < len as u64 {
                return Ok(None);
            }
            return Ok(Some(Frame::Rejected(format!(
                "message of {len} bytes exceeds the limit of {} bytes: ignored",
                self.max_body_bytes
            ))));
        }
        let mut body = vec![0; len];
        match self.input.read_exact(&mut body).await {
            Ok(_) => Ok(Some(Frame::Body(body))),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// After an over-long header line, drop the rest of that line so reading resumes at a
    /// line start.
    async fn skip_line_rest(&mut self, read: &[u8]) -> std::io::Result<()> {
        if read.ends_with(b"\n") {
            return Ok(());
        }
        let mut rest = Vec::new();
        loop {
            rest.clear();
            let n = (&mut self.input)
                .take(64 * 1024)
                .read_until(b'\n', &mut rest)
                .await?;
            if n == 0 || rest.ends_with(b"\n") {
                return Ok(());
            }
        }
    }
}

/// Frames one outgoing message.
pub fn encode(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8], max: usize) -> Vec<String> {
        let mut reader = FrameReader::new(input, max);
        let mut out = Vec::new();
        while let Some(frame) = reader.next().await.unwrap() {
            out.push(match frame {
                Frame::Body(b) => format!("body {}", String::from_utf8_lossy(&b)),
                Frame::Rejected(r) => format!("rejected: {r}"),
            });
        }
        out
    }

    #[tokio::test]
    async fn bad_frames_are_rejected_and_reading_goes_on() {
        let mut input = Vec::new();
        input.extend(encode(b"{\"a\":1}"));
        input.extend(b"X-Other: 1\r\n\r\n");
        input.extend(b"Content-Length: twelve\r\n\r\n");
        input.extend(encode(&[b'x'; 100]));
        input.extend(b"\r\n");
        input.extend(b"content-length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}");
        input.extend(b"Content-Length: 50\r\n\r\n{\"truncated");
        expect_test::expect![[r#"
            [
                "body {\"a\":1}",
                "rejected: message without a Content-Length header: skipped",
                "rejected: invalid Content-Length \"twelve\": invalid digit found in string",
                "rejected: message of 100 bytes exceeds the limit of 64 bytes: ignored",
                "body {}",
            ]
        "#]]
        .assert_debug_eq(&frames(&input, 64).await);
    }

    #[tokio::test]
    async fn an_endless_header_line_is_skipped() {
        let mut input = vec![b'H'; 20_000];
        input.extend(b"\r\n\r\n");
        input.extend(encode(b"[]"));
        let got = frames(&input, 64).await;
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].starts_with("rejected: header block longer"),
            "{got:?}"
        );
        assert_eq!(got[1], "body []");
    }
}
