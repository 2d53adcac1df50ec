//! The adapter byte protocol over a pipe, so that an adapter can run in a child process
//! (for crash isolation) with the same calls and bytes as across the library boundary.
//!
//! Frames, all lengths as little-endian `u32`:
//!
//! ```text
//! request  = op:u8  message_len:u32 message  [context_len:u32 context]  body_len:u32 body
//! response = status:u32  out_len:u32 out  diagnostics_len:u32 diagnostics
//! ```
//!
//! `op` is 0 manifest, 1 create (body = JSON config), 2 decode, 3 encode, 4 decode in
//! context, 5 encode in context; only ops 4 and 5 carry a `context` (a
//! [`CallContext`] as JSON). `status` and the payloads mean what they
//! mean in [`crate::abi`]: `out` holds the manifest, nothing, the canonical document or
//! the protocol bytes; `diagnostics` is a JSON array or empty. One more status,
//! [`STATUS_UNSUPPORTED`], says that the served library lacks the call (it was built
//! against an older ABI). A server serves one adapter instance: `create` comes once,
//! before any call.

use std::io::{self, Read, Write};

use tradewire_core::{Diagnostic, Diagnostics};

use crate::abi::{STATUS_FAILED, STATUS_OK, STATUS_REJECTED};
use crate::{AdapterInstance, AdapterModule, CallContext, CallError, Reply};

/// Frames larger than this are refused rather than allocated.
pub const MAX_FRAME: u32 = 1 << 30;

/// Status of a call over the pipe: the served library lacks the call
/// ([`CallError::Unsupported`]); the diagnostics say which ABI it has.
pub const STATUS_UNSUPPORTED: u32 = 3;

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Manifest = 0,
    Create = 1,
    Decode = 2,
    Encode = 3,
    DecodeInContext = 4,
    EncodeInContext = 5,
}

impl Op {
    fn from_byte(byte: u8) -> io::Result<Self> {
        match byte {
            0 => Ok(Self::Manifest),
            1 => Ok(Self::Create),
            2 => Ok(Self::Decode),
            3 => Ok(Self::Encode),
            4 => Ok(Self::DecodeInContext),
            5 => Ok(Self::EncodeInContext),
            other => Err(invalid(format!("unknown request op {other}"))),
        }
    }

    /// Whether the request carries a context chunk.
    fn has_context(self) -> bool {
        matches!(self, Self::DecodeInContext | Self::EncodeInContext)
    }
}

/// One request as read from a pipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub op: Op,
    pub message: String,
    /// The call's context as JSON; empty unless the op carries one.
    pub context: Vec<u8>,
    pub body: Vec<u8>,
}

/// One response as read from a pipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u32,
    pub out: Vec<u8>,
    pub diagnostics: Vec<u8>,
}

/// Writes a request; `context` is written only for the ops that carry one.
pub fn write_request(
    w: &mut impl Write,
    op: Op,
    message: &str,
    context: &[u8],
    body: &[u8],
) -> io::Result<()> {
    w.write_all(&[op as u8])?;
    write_chunk(w, message.as_bytes())?;
    if op.has_context() {
        write_chunk(w, context)?;
    }
    write_chunk(w, body)?;
    w.flush()
}

/// Reads the next request; `None` when the peer closed the pipe between requests.
pub fn read_request(r: &mut impl Read) -> io::Result<Option<Request>> {
    let mut op = [0u8; 1];
    match r.read_exact(&mut op) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let op = Op::from_byte(op[0])?;
    let message = String::from_utf8(read_chunk(r)?)
        .map_err(|_| invalid("message name is not UTF-8".into()))?;
    let context = if op.has_context() {
        read_chunk(r)?
    } else {
        Vec::new()
    };
    let body = read_chunk(r)?;
    Ok(Some(Request {
        op,
        message,
        context,
        body,
    }))
}

pub fn write_response(w: &mut impl Write, response: &Response) -> io::Result<()> {
    w.write_all(&response.status.to_le_bytes())?;
    write_chunk(w, &response.out)?;
    write_chunk(w, &response.diagnostics)?;
    w.flush()
}

pub fn read_response(r: &mut impl Read) -> io::Result<Response> {
    let status = read_u32(r)?;
    let out = read_chunk(r)?;
    let diagnostics = read_chunk(r)?;
    Ok(Response {
        status,
        out,
        diagnostics,
    })
}

fn write_chunk(w: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len())
        .ok()
        .filter(|&len| len <= MAX_FRAME)
        .ok_or_else(|| {
            invalid(format!(
                "a frame of {} bytes exceeds the limit of {MAX_FRAME}",
                bytes.len()
            ))
        })?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(bytes)
}

fn read_chunk(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let len = read_u32(r)?;
    if len > MAX_FRAME {
        return Err(invalid(format!(
            "a frame of {len} bytes exceeds the limit of {MAX_FRAME}"
        )));
    }
    let mut bytes = Vec::new();
    r.take(u64::from(len)).read_to_end(&mut bytes)?;
    if bytes.len() != len as usize {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the pipe closed inside a frame",
        ));
    }
    Ok(bytes)
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut bytes = [0u8; 4];
    r.read_exact(&mut bytes)?;
    Ok(u32::from_le_bytes(bytes))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

fn encode_diagnostics(diagnostics: &Diagnostics) -> Vec<u8> {
    if diagnostics.is_empty() {
        Vec::new()
    } else {
        serde_json::to_vec(diagnostics).unwrap_or_default()
    }
}

fn reply_response(result: Result<Reply, CallError>) -> Response {
    match result {
        Ok(reply) => Response {
            status: STATUS_OK,
            out: reply.bytes,
            diagnostics: encode_diagnostics(&reply.warnings),
        },
        Err(CallError::Rejected(d)) => Response {
            status: STATUS_REJECTED,
            out: Vec::new(),
            diagnostics: encode_diagnostics(&d),
        },
        Err(CallError::Failed(d)) => Response {
            status: STATUS_FAILED,
            out: Vec::new(),
            diagnostics: encode_diagnostics(&d),
        },
        Err(CallError::Unsupported(d)) => Response {
            status: STATUS_UNSUPPORTED,
            out: Vec::new(),
            diagnostics: encode_diagnostics(&d),
        },
    }
}

/// Serves `module` on a pipe until the peer closes it.
pub fn serve(
    module: &AdapterModule,
    reader: &mut impl Read,
    writer: &mut impl Write,
) -> io::Result<()> {
    let mut instance: Option<AdapterInstance> = None;
    while let Some(request) = read_request(reader)? {
        let response = match request.op {
            Op::Manifest => Response {
                status: STATUS_OK,
                out: serde_json::to_vec(module.manifest()).unwrap_or_default(),
                diagnostics: Vec::new(),
            },
            Op::Create => match module.instantiate(&request.body) {
                Ok(created) => {
                    instance = Some(created);
                    Response {
                        status: STATUS_OK,
                        out: Vec::new(),
                        diagnostics: Vec::new(),
                    }
                }
                Err(e) => reply_response(Err(e)),
            },
            Op::Decode => with_instance(instance.as_ref(), |instance| {
                instance.decode(&request.message, &request.body)
            }),
            Op::Encode => with_instance(instance.as_ref(), |instance| {
                instance.encode(&request.message, &request.body)
            }),
            Op::DecodeInContext => with_instance(instance.as_ref(), |instance| {
                let context =
                    CallContext::from_call(&request.context).map_err(CallError::Rejected)?;
                instance.decode_in_context(&request.message, &request.body, &context)
            }),
            Op::EncodeInContext => with_instance(instance.as_ref(), |instance| {
                let context =
                    CallContext::from_call(&request.context).map_err(CallError::Rejected)?;
                instance.encode_in_context(&request.message, &request.body, &context)
            }),
        };
        write_response(writer, &response)?;
    }
    Ok(())
}

/// The response to a call on the served instance, or a rejection before `create`.
fn with_instance(
    instance: Option<&AdapterInstance>,
    call: impl FnOnce(&AdapterInstance) -> Result<Reply, CallError>,
) -> Response {
    reply_response(match instance {
        Some(instance) => call(instance),
        None => Err(CallError::Rejected(
            Diagnostic::error(
                "",
                "pipe.no_instance",
                "`create` must come before decode and encode",
            )
            .into(),
        )),
    })
}

/// The caller's side: an adapter served on the other end of a pipe.
pub struct PipeClient<R, W> {
    reader: R,
    writer: W,
}

impl<R: Read, W: Write> PipeClient<R, W> {
    pub fn new(reader: R, writer: W) -> Self {
        Self { reader, writer }
    }

    /// The served adapter's manifest, as JSON.
    pub fn manifest(&mut self) -> io::Result<crate::Manifest> {
        let response = self.call(Op::Manifest, "", b"")?;
        serde_json::from_slice(&response.out)
            .map_err(|e| invalid(format!("unreadable manifest: {e}")))
    }

    pub fn create(&mut self, config: &[u8]) -> io::Result<Result<(), CallError>> {
        let response = self.call(Op::Create, "", config)?;
        Ok(into_result(response).map(|_| ()))
    }

    pub fn decode(&mut self, message: &str, input: &[u8]) -> io::Result<Result<Reply, CallError>> {
        Ok(into_result(self.call(Op::Decode, message, input)?))
    }

    pub fn encode(
        &mut self,
        message: &str,
        document: &[u8],
    ) -> io::Result<Result<Reply, CallError>> {
        Ok(into_result(self.call(Op::Encode, message, document)?))
    }

    /// [`AdapterInstance::decode_in_context`] in the child process.
    pub fn decode_in_context(
        &mut self,
        message: &str,
        input: &[u8],
        context: &CallContext,
    ) -> io::Result<Result<Reply, CallError>> {
        let response = self.call_in_context(Op::DecodeInContext, message, context, input)?;
        Ok(into_result(response))
    }

    /// [`AdapterInstance::encode_in_context`] in the child process.
    pub fn encode_in_context(
        &mut self,
        message: &str,
        document: &[u8],
        context: &CallContext,
    ) -> io::Result<Result<Reply, CallError>> {
        let response = self.call_in_context(Op::EncodeInContext, message, context, document)?;
        Ok(into_result(response))
    }

    fn call(&mut self, op: Op, message: &str, body: &[u8]) -> io::Result<Response> {
        write_request(&mut self.writer, op, message, &[], body)?;
        read_response(&mut self.reader)
    }

    fn call_in_context(
        &mut self,
        op: Op,
        message: &str,
        context: &CallContext,
        body: &[u8],
    ) -> io::Result<Response> {
        write_request(&mut self.writer, op, message, &context.to_json(), body)?;
        read_response(&mut self.reader)
    }
}

fn into_result(response: Response) -> Result<Reply, CallError> {
    let diagnostics: Diagnostics = if response.diagnostics.is_empty() {
        Diagnostics::new()
    } else {
        serde_json::from_slice(&response.diagnostics).unwrap_or_else(|e| {
            Diagnostic::error(
                "",
                "pipe.bad_diagnostics",
                format!("unreadable diagnostics: {e}"),
            )
            .into()
        })
    };
    match response.status {
        STATUS_OK => Ok(Reply {
            bytes: response.out,
            warnings: diagnostics,
        }),
        STATUS_REJECTED => Err(CallError::Rejected(diagnostics)),
        STATUS_UNSUPPORTED => Err(CallError::Unsupported(diagnostics)),
        _ => Err(CallError::Failed(diagnostics)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut buffer = Vec::new();
        write_request(
            &mut buffer,
            Op::Decode,
            "cart",
            b"ignored",
            b"NEW_ITEM-QUANTITY[1]=2",
        )
        .expect("write");
        let request = read_request(&mut buffer.as_slice())
            .expect("read")
            .expect("a request");
        assert_eq!(
            request,
            Request {
                op: Op::Decode,
                message: "cart".into(),
                context: Vec::new(),
                body: b"NEW_ITEM-QUANTITY[1]=2".to_vec()
            }
        );

        let context = br#"{"version":1,"content_type":"text/plain; charset=UTF-8"}"#;
        let mut buffer = Vec::new();
        write_request(&mut buffer, Op::EncodeInContext, "order", context, b"{}").expect("write");
        let request = read_request(&mut buffer.as_slice())
            .expect("read")
            .expect("a request");
        assert_eq!(
            request,
            Request {
                op: Op::EncodeInContext,
                message: "order".into(),
                context: context.to_vec(),
                body: b"{}".to_vec()
            }
        );

        let response = Response {
            status: STATUS_REJECTED,
            out: Vec::new(),
            diagnostics: b"[]".to_vec(),
        };
        let mut buffer = Vec::new();
        write_response(&mut buffer, &response).expect("write");
        assert_eq!(
            read_response(&mut buffer.as_slice()).expect("read"),
            response
        );
    }

    #[test]
    fn a_clean_close_ends_the_stream_and_a_torn_frame_is_an_error() {
        assert!(
            read_request(&mut [].as_slice())
                .expect("clean EOF")
                .is_none()
        );
        let mut buffer = Vec::new();
        write_request(&mut buffer, Op::Encode, "order", b"", b"{}").expect("write");
        buffer.truncate(buffer.len() - 1);
        assert!(read_request(&mut buffer.as_slice()).is_err());
    }

    #[test]
    fn oversized_and_unknown_frames_are_refused_without_allocating() {
        let mut huge = vec![2u8];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            read_request(&mut huge.as_slice())
                .expect_err("too big")
                .kind(),
            io::ErrorKind::InvalidData
        );
        assert_eq!(
            read_request(&mut [9u8].as_slice())
                .expect_err("op 9")
                .kind(),
            io::ErrorKind::InvalidData
        );
    }
}
