//! The file from an offset on as a streamed request body of exact length, and the problems
//! found with the file while streaming it.

use super::*;

/// Something wrong with the file, found while streaming it.
#[derive(Debug)]
pub(super) enum SourceProblem {
    /// The file ended before the size it was measured at.
    EndedEarly,
    /// Reading it failed.
    Read(io::Error),
}

impl SourceProblem {
    pub(super) async fn into_error(self, file: &VideoFile) -> MetaError {
        match self {
            Self::EndedEarly => match tokio::fs::metadata(file.path()).await {
                Ok(metadata) => MetaError::VideoChanged {
                    size_at_start: file.size(),
                    size_now: metadata.len(),
                },
                Err(source) => unreadable(source),
            },
            Self::Read(source) => unreadable(source),
        }
    }
}

pub(super) fn take(problem: &Mutex<Option<SourceProblem>>) -> Option<SourceProblem> {
    problem
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
}

/// The file from an offset on, as a request body of exact length.
pub(super) struct FileBody {
    pub(super) file: tokio::fs::File,
    pub(super) remaining: u64,
    pub(super) position: u64,
    pub(super) buf: Box<[u8]>,
    pub(super) sent: watch::Sender<u64>,
    pub(super) problem: Arc<Mutex<Option<SourceProblem>>>,
}

impl FileBody {
    pub(super) fn fail(&self, problem: SourceProblem) -> io::Error {
        let error = io::Error::other(match &problem {
            SourceProblem::EndedEarly => "the video file ended early",
            SourceProblem::Read(_) => "the video file could not be read",
        });
        *self.problem.lock().unwrap_or_else(PoisonError::into_inner) = Some(problem);
        error
    }
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.remaining)
            .unwrap_or(usize::MAX)
            .min(this.buf.len());
        let mut read = ReadBuf::new(&mut this.buf[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(error)) => {
                Poll::Ready(Some(Err(this.fail(SourceProblem::Read(error)))))
            }
            Poll::Ready(Ok(())) => {
                let chunk = Bytes::copy_from_slice(read.filled());
                if chunk.is_empty() {
                    return Poll::Ready(Some(Err(this.fail(SourceProblem::EndedEarly))));
                }
                let n = chunk.len() as u64;
                this.remaining -= n;
                this.position += n;
                this.sent.send_replace(this.position);
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
