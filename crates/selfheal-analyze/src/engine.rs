//! The streaming core: cleans each line once, tracks CI structure (jobs,
//! steps, failure markers) and hands lines to the tool parsers.
//!
//! Most lines of a CI log matter to nobody. A prefilter over a hundred-odd
//! keywords ([`crate::scan`]) decides whether a line is worth showing the parsers at
//! all; a parser that is inside a block (a traceback, a pytest failure
//! section) asks for every line until the block ends. On a large log the
//! reading and the parsing run on two threads (see [`run`]). Memory is
//! bounded by the line splitter, the batches in flight, the parsers' own
//! caps and [`MAX_CANDIDATES`].

use std::io::Read;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::lines::{LineSplitter, strip_ansi, timestamp_len, to_str};
use crate::parsers::generic::Generic;
use crate::parsers::{self, Anchor, Candidate, Facts, Line, Parser};
use crate::scan::LiteralScanner;

/// Words that any parser's block starts with (or that the fallback wants).
const KEYWORDS: &[&str] = &[
    // Failure words: the fallback, most tools' verdicts, `##[error]`-less annotations.
    "error",
    "fail",
    "exception",
    "fatal",
    "panic",
    "traceback",
    "abort",
    "cannot",
    "can't",
    "could not",
    "couldnot",
    "couldn't",
    "unable",
    "invalid",
    "unexpected",
    "not found",
    "not defined",
    "no such",
    "does not exist",
    "denied",
    "undefined",
    "unresolved",
    "terminated",
    "crash",
    "not ok",
    "segmentation",
    // Block starts that carry no failure word.
    "file \"",
    "=== run",
    "short test summary",
    "test session starts",
    "what went wrong",
    ".py:",
    // erlc prints errors with no failure word: `src/x.erl:12: variable 'X' is unbound`.
    ".erl:",
    // Findings in documents: `README.md:12: Line longer than 80 characters`.
    ".md:",
    "diff in ",
    // Jest's bullet before a failed test's name.
    "● ",
    "cmake",
    ": ***",
    "dubious",
    // Infrastructure, limits and resolution signatures.
    "timed out",
    "killed",
    "cancel",
    "exceeded",
    "no space left",
    "out of memory",
    "reset by peer",
    "refused",
    "unavailable",
    "bad gateway",
    "rate limit",
    "too many",
    "not supplied",
    "lock file",
    "lockfile",
    "go.sum",
    "unknown revision",
    "unsatisfiable",
    "resolution",
    "unauthorized",
    "forbidden",
    "credentials",
    "would reformat",
    "err!",
    "non-zero code",
    "manifest",
    "shutdown signal",
    "lost communication",
    "name resolution",
    "exited with",
    "econn",
    "etimedout",
    "enotfound",
    "eai_again",
    "no output has been received",
    // ExUnit's numbered failures: `  1) test adds numbers (MathTest)`.
    ") test ",
    ") doctest ",
    // RuboCop's offenses: `app/x.rb:1:1: C: Style/Cop: message`.
    ": c: ",
    ": w: ",
    ": e: ",
    ": f: ",
    ": r: ",
    // Linters of workflows and Dockerfiles, whose findings carry no
    // failure word (actionlint, hadolint).
    ".github/workflows/",
    "dockerfile:",
    // awesome_bot's list of links that failed its check.
    "issues :-(",
    // Linters' findings (SwiftLint, checkstyle) with no failure word.
    " violation",
    // Retried tests, for the flaky hint.
    "rerun",
    "flakes:",
    // The pytest `flaky` plugin's report: `test_x passed 1 out of the required 1 times.`
    " out of the required ",
    // Killed by the out-of-memory killer: exit code 137.
    " 137",
];

/// The one scan every line gets: the keywords, the signature literals that
/// [`parsers::infra`] would otherwise look for in each keyword line, and
/// the parsers' [`Anchor`]s.
struct LineScan {
    scanner: LiteralScanner,
    /// What each literal of `scanner` tells.
    kind: Vec<Found>,
}

#[derive(Clone, Copy)]
enum Found {
    Keyword,
    Signature(usize),
    Anchor(Anchor),
}

static LINE_SCAN: LazyLock<LineScan> = LazyLock::new(|| {
    let mut literals: Vec<(&[u8], Found)> = KEYWORDS
        .iter()
        .map(|k| (k.as_bytes(), Found::Keyword))
        .collect();
    literals.extend(parsers::infra::literals().map(|(i, l)| (l, Found::Signature(i))));
    literals.extend(
        Anchor::ALL
            .iter()
            .map(|a| (a.literal().as_bytes(), Found::Anchor(*a))),
    );
    LineScan {
        scanner: LiteralScanner::new(literals.iter().map(|(l, _)| l))
            .expect("literals are long enough"),
        kind: literals.iter().map(|(_, k)| *k).collect(),
    }
});

impl LineScan {
    /// Fills in each line's facts with one scan over the batch's text.
    fn scan_batch(&self, text: &[u8], lines: &mut [Cleaned]) {
        for line in lines.iter_mut() {
            line.facts = Facts::default();
        }
        // Matches come nearly in order (a step of the scan reports its eight
        // positions in order), so the line a match falls in is the one found
        // last or one a few lines on: walking forward costs a comparison per
        // line, where a binary search over the batch's lines would miss the
        // cache at each of its steps. Only a match that lies behind the
        // cursor, or more than [`WALK`] lines ahead of it, is searched for.
        let mut cursor = 0;
        self.scanner.for_each(text, |found, i| {
            let start = found.start;
            let begins = |j: usize| {
                j.checked_sub(1)
                    .and_then(|p| lines.get(p))
                    .map_or(0, |l| l.end)
            };
            if start < begins(cursor) {
                cursor = lines.partition_point(|l| l.end <= start);
            } else {
                let mut steps = 0;
                while lines.get(cursor).is_some_and(|l| l.end <= start) {
                    cursor += 1;
                    steps += 1;
                    if steps == WALK {
                        cursor = lines.partition_point(|l| l.end <= start);
                        break;
                    }
                }
            }
            let Some(line) = lines.get_mut(cursor) else {
                return false;
            };
            // Lines lie back to back: a match may run into the next one.
            if found.end <= line.end {
                match self.kind[i] {
                    Found::Keyword => line.facts.keyword = true,
                    Found::Signature(signature) => line.facts.infra |= 1 << signature,
                    Found::Anchor(anchor) => {
                        line.facts.anchors |= anchor.bit();
                        if text[found] == *anchor.literal().as_bytes() {
                            line.facts.exact |= anchor.bit();
                        }
                    }
                }
            }
            true
        });
    }
}

/// How many lines [`LineScan::scan_batch`] walks forward to the line of a
/// match before it searches instead.
const WALK: usize = 64;

/// Past this many candidates the weakest are dropped, whatever the input.
pub(crate) const MAX_CANDIDATES: usize = 2000;

/// Where a file of a run-log folder or zip came from.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileContext {
    pub log_file: Option<String>,
    pub job: Option<String>,
    /// Set for per-step files: then `##[group]Run` headers do not start steps.
    pub step: Option<String>,
}

/// Candidates from one input stream, with step verdicts applied.
pub(crate) struct StreamResult {
    pub candidates: Vec<Candidate>,
}

struct Engine {
    parsers: Vec<Box<dyn Parser>>,
    /// The fallback for unrecognised tools; see [`Generic`].
    generic: Generic,
    candidates: Vec<Candidate>,
    ctx: FileContext,
    step: Option<String>,
    segment: u32,
    failed_segments: Vec<u32>,
    seq: u32,
    gha: bool,
    /// The last few lines of the current segment, for a failed step that no
    /// parser explained.
    tail: std::collections::VecDeque<(u64, Vec<u8>)>,
    segment_first_candidate: usize,
    /// The last line of each finished segment, indexed by segment.
    segment_ends: Vec<u64>,
    last_no: u64,
    prev: Vec<u8>,
    /// Whether some parser is inside a block and needs every line.
    any_active: bool,
    /// The command the current step runs, as the CI printed it.
    command: Option<String>,
    /// Tests the runner retried, for the flaky hint.
    reruns: crate::flaky::Reruns,
    /// Where in the header of a GitHub Actions `Run` step the line is.
    header: StepHeader,
}

/// The header GitHub prints before a `Run` step: its script and environment,
/// echoed before the step runs. Not output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepHeader {
    Outside,
    Script,
    /// Its `env:` or `with:` list.
    Env,
}

/// Cleaned lines handed from the reading thread to the parsing thread.
/// Lines are packed into one buffer so a batch costs two allocations,
/// however many lines it holds.
#[derive(Default)]
struct Batch {
    text: Vec<u8>,
    lines: Vec<Cleaned>,
    /// Whether each line's [`Cleaned::facts`] is filled in yet.
    scanned: bool,
}

impl Batch {
    /// Scans each line for its [`Facts`], unless that was done already.
    fn scan(&mut self) {
        if !self.scanned {
            LINE_SCAN.scan_batch(&self.text, &mut self.lines);
            self.scanned = true;
        }
    }

    fn clear(&mut self) {
        self.text.clear();
        self.lines.clear();
        self.scanned = false;
    }
}

/// One line of a [`Batch`].
#[derive(Clone, Copy)]
struct Cleaned {
    no: u64,
    /// Where the line ends in the batch's text.
    end: usize,
    /// It carried a GitHub Actions timestamp.
    ts: bool,
    /// GitHub's cyan echo of a step's script line (`ESC[36;1m`).
    echo: bool,
    facts: Facts,
}

/// Text bytes per batch: big enough that the channel costs nothing per
/// line, small enough that the batches in flight stay a few MiB.
const BATCH_BYTES: usize = 512 * 1024;
/// Batches in flight; bounds memory when the parsers fall behind.
const BATCHES_IN_FLIGHT: usize = 4;
/// Lines per batch, for logs of many short lines.
const BATCH_LINES: usize = 32 * 1024;

/// Analyses one stream of log text.
///
/// Two threads share the work on a large log: this one reads, splits,
/// cleans and keyword-scans lines; a scoped worker runs the engine and the
/// parsers. Both halves cost about the same on a busy log, so on two cores
/// a large log takes little more than the slower half. The worker sees
/// lines in order and decides exactly as a single loop would. A log that
/// fits in one batch (most job logs) is analysed here, with no thread.
///
/// With `fallback_only`, no tool parser runs: the fallback alone stands for
/// an analyser that recognises none of the log's tools.
pub(crate) fn run<R: Read>(
    reader: R,
    ctx: FileContext,
    fallback_only: bool,
) -> std::io::Result<StreamResult> {
    let mut source = Source {
        splitter: LineSplitter::new(reader),
        no: 0,
        ansi: Vec::new(),
    };
    let mut first = Batch::default();
    if !source.fill(&mut first)? {
        first.scan();
        let mut engine = Engine::new(ctx, fallback_only);
        engine.take_batch(&first, &mut String::new());
        return Ok(engine.finish());
    }
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(BATCHES_IN_FLIGHT);
    // Emptied batches come back, so the steady state allocates nothing.
    let (back_tx, back_rx) = std::sync::mpsc::channel::<Batch>();
    let queued = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let queued_ = &queued;
        let parse = move || {
            let mut engine = Engine::new(ctx, fallback_only);
            let mut lossy = String::new();
            for mut batch in rx {
                queued_.fetch_sub(1, Ordering::Relaxed);
                batch.scan();
                engine.take_batch(&batch, &mut lossy);
                batch.clear();
                // The reader may have finished already; then the batch is dropped.
                let _ = back_tx.send(batch);
            }
            engine.finish()
        };
        // Named, so that profiles tell the two halves apart.
        let worker = std::thread::Builder::new()
            .name("log-parsers".into())
            .spawn_scoped(scope, parse)?;
        let read = source.send_all(first, &tx, &back_rx, &queued);
        drop(tx);
        let result = worker
            .join()
            .map_err(|_| std::io::Error::other("log analysis worker stopped unexpectedly"));
        read?;
        result
    })
}

/// The reading half of [`run`]: splits and cleans lines into batches.
struct Source<R> {
    splitter: LineSplitter<R>,
    no: u64,
    ansi: Vec<u8>,
}

impl<R: Read> Source<R> {
    /// Fills `batch` up to [`BATCH_BYTES`]; false once the input has ended.
    fn fill(&mut self, batch: &mut Batch) -> std::io::Result<bool> {
        while let Some((raw, esc)) = self.splitter.next_line_esc()? {
            self.no += 1;
            let mut bytes = raw;
            if self.no == 1 {
                bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
            }
            let ts = timestamp_len(bytes);
            if ts > 0 {
                bytes = &bytes[ts..];
            }
            let echo = bytes.starts_with(b"\x1b[36;1m");
            if esc && memchr::memchr(0x1b, bytes).is_some() {
                strip_ansi(bytes, &mut self.ansi);
                bytes = &self.ansi;
            }
            bytes = &bytes[buildkit_prefix_len(bytes)..];
            batch.text.extend_from_slice(bytes);
            batch.lines.push(Cleaned {
                no: self.no,
                end: batch.text.len(),
                ts: ts > 0,
                echo,
                facts: Facts::default(),
            });
            if batch.text.len() >= BATCH_BYTES || batch.lines.len() >= BATCH_LINES {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Sends `first` and then the rest of the input. Stops early, without
    /// error, if the worker has gone.
    ///
    /// The keyword scan goes to whichever thread has time for it: while
    /// the worker has batches waiting, this thread scans before sending;
    /// when the worker has caught up, batches go unscanned and the worker
    /// scans them. On a quiet log the parsers have little to do and the
    /// worker takes most of the scanning; on a busy one this thread does.
    /// Scanning is pure, so where it runs never changes a result.
    fn send_all(
        &mut self,
        first: Batch,
        tx: &std::sync::mpsc::SyncSender<Batch>,
        back: &std::sync::mpsc::Receiver<Batch>,
        queued: &AtomicUsize,
    ) -> std::io::Result<()> {
        queued.fetch_add(1, Ordering::Relaxed);
        if tx.send(first).is_err() {
            return Ok(());
        }
        let mut allocated = 1;
        loop {
            let mut batch = match back.try_recv() {
                Ok(batch) => batch,
                Err(_) if allocated < BATCHES_IN_FLIGHT + 2 => {
                    allocated += 1;
                    Batch::default()
                }
                // Wait for one to come back rather than allocate afresh.
                Err(_) => match back.recv() {
                    Ok(batch) => batch,
                    Err(_) => return Ok(()),
                },
            };
            let more = self.fill(&mut batch)?;
            if queued.load(Ordering::Relaxed) > 0 {
                batch.scan();
            }
            if !batch.lines.is_empty() {
                queued.fetch_add(1, Ordering::Relaxed);
                if tx.send(batch).is_err() {
                    return Ok(());
                }
            }
            if !more {
                return Ok(());
            }
        }
    }
}

const TAIL: usize = 6;

/// Whether a line may explain a failed step that no parser explained:
/// blank lines and Travis's fold markers do not.
fn counts_for_tail(bytes: &[u8]) -> bool {
    !(bytes.iter().all(u8::is_ascii_whitespace) || bytes.starts_with(b"travis_"))
}

impl Engine {
    fn new(ctx: FileContext, fallback_only: bool) -> Self {
        let command = ctx
            .step
            .as_deref()
            .and_then(|s| s.strip_prefix("Run "))
            .map(command_line);
        Self {
            parsers: if fallback_only {
                Vec::new()
            } else {
                parsers::all()
            },
            generic: Generic::default(),
            candidates: Vec::new(),
            step: ctx.step.clone(),
            ctx,
            segment: 0,
            failed_segments: Vec::new(),
            seq: 0,
            gha: false,
            tail: std::collections::VecDeque::with_capacity(TAIL),
            segment_first_candidate: 0,
            segment_ends: Vec::new(),
            last_no: 0,
            prev: Vec::new(),
            any_active: false,
            command,
            header: StepHeader::Outside,
            reruns: crate::flaky::Reruns::default(),
        }
    }

    fn take_batch(&mut self, batch: &Batch, lossy: &mut String) {
        let mut start = 0;
        // Quiet lines are remembered (see [`Self::remember`]) only when
        // something is about to look: a run of them overwrites the previous
        // line and the step's tail line after line, so only the run's last
        // lines need copying. `quiet` is the run not yet remembered.
        let mut quiet = 0..0;
        for (i, line) in batch.lines.iter().enumerate() {
            let bytes = &batch.text[start..line.end];
            if line.ts {
                self.gha = true;
            }
            if self.is_quiet(line, bytes) {
                if quiet.is_empty() {
                    quiet = i..i;
                }
                quiet.end = i + 1;
                self.quiet_line(line.no, bytes);
            } else {
                self.remember_run(batch, std::mem::replace(&mut quiet, 0..0));
                self.take(line, bytes, lossy);
            }
            start = line.end;
        }
        self.remember_run(batch, quiet);
    }

    /// The bytes of line `i` of `batch`.
    fn line_bytes(batch: &Batch, i: usize) -> &[u8] {
        let start = i
            .checked_sub(1)
            .and_then(|p| batch.lines.get(p))
            .map_or(0, |l| l.end);
        batch
            .lines
            .get(i)
            .map_or(&[][..], |l| &batch.text[start..l.end])
    }

    /// Remembers the quiet lines `run` of `batch` as if each had been
    /// remembered in turn: the tail keeps the last [`TAIL`] that count and
    /// the previous line is the run's last.
    fn remember_run(&mut self, batch: &Batch, run: std::ops::Range<usize>) {
        if run.is_empty() {
            return;
        }
        let last = run.end - 1;
        let mut kept = [0usize; TAIL];
        let mut n = 0;
        for i in run.rev() {
            if n == TAIL {
                break;
            }
            if counts_for_tail(Self::line_bytes(batch, i)) {
                kept[n] = i;
                n += 1;
            }
        }
        for &i in kept[..n].iter().rev() {
            let no = batch.lines.get(i).map_or(0, |l| l.no);
            self.push_tail(no, Self::line_bytes(batch, i));
        }
        let bytes = Self::line_bytes(batch, last);
        self.prev.clear();
        self.prev.extend_from_slice(&bytes[..bytes.len().min(512)]);
    }

    /// Whether a line takes the fast path: outside a step header, no parser
    /// wants it and nothing is being watched. Such a line only moves the
    /// bookkeeping ([`Self::quiet_line`]).
    fn is_quiet(&self, line: &Cleaned, bytes: &[u8]) -> bool {
        self.header == StepHeader::Outside
            && !self.reruns.watching()
            && self.no_parser_wants(line.facts, bytes)
    }

    /// Whether no parser, nor the step bookkeeping, needs to see the line
    /// decoded: no keyword or signature in it, no parser inside a block, no
    /// retried test being followed, and not a marker line (`##[`, Travis's
    /// `$ ` commands and `travis_` folds, npm's `> ` headers).
    fn no_parser_wants(&self, facts: Facts, bytes: &[u8]) -> bool {
        // A signature's literal is reason enough to look (see
        // `Parser::wants`).
        !facts.keyword
            && facts.infra == 0
            && !self.any_active
            && !self.reruns.active()
            && !bytes.starts_with(b"##[")
            && !bytes.starts_with(b"$ ")
            && !bytes.starts_with(b"travis_")
            && !bytes.starts_with(b"> ")
    }

    /// One cleaned line, on the fast path or to the parsers.
    fn take(&mut self, line: &Cleaned, bytes: &[u8], lossy: &mut String) {
        let Cleaned {
            no, echo, facts, ..
        } = *line;
        if self.header != StepHeader::Outside && !bytes.starts_with(b"##[") {
            // The step's script as GitHub echoes it: `echo "error: ..."`
            // there is not an error, nor is it what the step printed. Only
            // lines shaped like the header count, so a group that never
            // ends hides nothing.
            let header = if echo || bytes.starts_with(b"shell: ") {
                true
            } else if bytes == b"env:" || bytes == b"with:" {
                self.header = StepHeader::Env;
                true
            } else {
                self.header == StepHeader::Env && bytes.starts_with(b"  ")
            };
            if header {
                self.last_no = no;
                return;
            }
            self.header = StepHeader::Outside;
        }
        // The fast path, for lines that [`Self::take_batch`] could not send
        // there at once: a line no parser wants is never decoded.
        if self.reruns.watching() && memchr::memmem::find(bytes, b"PASS").is_some() {
            // A retried test's verdict: no keyword in `PASSED tests/x.py::t`
            // or `--- PASS: TestX`.
            self.reruns.feed(&String::from_utf8_lossy(bytes));
        }
        if self.no_parser_wants(facts, bytes) {
            self.quiet_line(no, bytes);
            self.remember(no, bytes);
            return;
        }
        let text = to_str(bytes, lossy);
        self.line(no, text, facts);
    }

    /// A line that no parser needs: only the step bookkeeping sees it. The
    /// caller remembers it, at once or with the rest of its run.
    fn quiet_line(&mut self, no: u64, bytes: &[u8]) {
        if self.generic.wants_more() {
            self.generic.quiet(no, bytes);
        }
        self.last_no = no;
    }

    /// Keeps the previous line and the step's last lines, reusing buffers.
    fn remember(&mut self, no: u64, bytes: &[u8]) {
        self.prev.clear();
        self.prev.extend_from_slice(&bytes[..bytes.len().min(512)]);
        if counts_for_tail(bytes) {
            self.push_tail(no, bytes);
        }
    }

    /// Adds a line to the step's last lines, reusing the oldest's buffer.
    fn push_tail(&mut self, no: u64, bytes: &[u8]) {
        let mut slot = if self.tail.len() == TAIL {
            self.tail.pop_front().map(|(_, s)| s).unwrap_or_default()
        } else {
            Vec::new()
        };
        slot.clear();
        slot.extend_from_slice(&bytes[..bytes.len().min(400)]);
        self.tail.push_back((no, slot));
    }

    fn line(&mut self, no: u64, text: &str, facts: Facts) {
        let mut gha_error = false;
        let mut text = text;
        if let Some(rest) = text.strip_prefix("##[") {
            if let Some(name) = rest.strip_prefix("group]") {
                if let Some(cmd) = name.strip_prefix("Run ") {
                    if self.ctx.step.is_none() {
                        self.boundary(Some(name.trim().chars().take(120).collect()));
                    }
                    self.command = Some(command_line(cmd));
                    self.header = StepHeader::Script;
                }
                return;
            }
            if rest.starts_with("endgroup]") {
                self.header = StepHeader::Outside;
                return;
            }
            if rest.starts_with("debug]") {
                return;
            }
            if let Some(msg) = rest.strip_prefix("error]") {
                gha_error = true;
                text = msg;
            } else if let Some(msg) = rest
                .strip_prefix("warning]")
                .or_else(|| rest.strip_prefix("notice]"))
            {
                // Warnings are not why a job failed; keep them out of the parsers.
                let _ = msg;
                return;
            } else if let Some(msg) = rest.strip_prefix("command]") {
                text = msg;
            }
        }
        let exit_marker = exit_marker(text, gha_error);
        // Travis prints each command as `$ cmd`: a natural step boundary.
        if !self.gha
            && let Some(cmd) = travis_command(text)
        {
            self.boundary(None);
            self.command = Some(command_line(cmd));
            return;
        }
        // npm and pnpm name the script they run, then its command:
        // `> shop@1.0.0 lint:js` / `> eslint src`. What a step's `npm test`
        // runs is what the step is.
        if let Some(cmd) = text.strip_prefix("> ")
            && is_npm_header(&self.prev)
        {
            self.command = Some(command_line(cmd));
        }
        let retried = facts.may_contain(Anchor::Rerun)
            || facts.may_contain(Anchor::Flakes)
            || facts.may_contain(Anchor::GoTestFail)
            || facts.may_contain(Anchor::FlakyReport);
        if self.reruns.wants(text, retried) {
            self.reruns.feed(text);
        }
        self.last_no = no;
        // Every parser reads a line without its trailing whitespace:
        // trimmed once here rather than by each of them.
        let trimmed = text.trim_end();
        let line = Line {
            no,
            text: trimmed,
            gha_error,
            prev: std::str::from_utf8(&self.prev).unwrap_or(""),
            hit: facts.keyword || gha_error,
            facts,
        };
        let hit = line.hit;
        let before = self.candidates.len();
        let mut any_active = false;
        for p in &mut self.parsers {
            if hit || p.active() || p.wants(facts) {
                p.feed(&line, &mut self.candidates);
            }
            any_active |= p.active();
        }
        self.any_active = any_active;
        if hit || self.generic.wants_more() {
            self.generic.feed(&line);
        }
        self.stamp(before);
        match exit_marker {
            Marker::None => self.remember(no, trimmed.as_bytes()),
            Marker::Failed => {
                self.flush();
                if !self.failed_segments.contains(&self.segment) {
                    self.failed_segments.push(self.segment);
                }
                self.unexplained(no, text);
                self.boundary(None);
            }
            Marker::Passed => self.boundary(None),
        }
        if self.candidates.len() > 2 * MAX_CANDIDATES {
            self.prune();
        }
    }

    /// A step failed: its last lines are the best guess at why, should no
    /// parser recognise anything (the ranking drops this when one did).
    fn unexplained(&mut self, no: u64, marker: &str) {
        let mut snippet: Vec<(u64, String)> = self
            .tail
            .drain(..)
            .map(|(n, b)| (n, String::from_utf8_lossy(&b).into_owned()))
            .collect();
        // A step that printed nothing says nothing: an error printed by an
        // earlier step that carried on (`git describe` failing inside a
        // step that swallowed its status) explains it better.
        let confidence = if snippet.is_empty() { -30 } else { -4 };
        snippet.push((no, marker.trim().to_owned()));
        let start = snippet.first().map_or(no, |s| s.0);
        let message = snippet
            .iter()
            .rev()
            .nth(1)
            .map_or_else(|| marker.trim().to_owned(), |s| s.1.clone());
        let before = self.candidates.len();
        self.candidates.push(
            Candidate::new(selfheal_types::Category::Unknown, "generic", message)
                .span(start, no)
                .confidence(confidence)
                .snippet(snippet),
        );
        self.stamp(before);
    }

    fn stamp(&mut self, from: usize) {
        for c in &mut self.candidates[from..] {
            c.job.clone_from(&self.ctx.job);
            c.step.clone_from(&self.step);
            c.command.clone_from(&self.command);
            c.segment = self.segment;
            c.seq = self.seq;
            self.seq += 1;
        }
    }

    fn flush(&mut self) {
        let before = self.candidates.len();
        for p in &mut self.parsers {
            p.flush(&mut self.candidates);
        }
        self.generic.flush(&mut self.candidates);
        self.stamp(before);
        self.any_active = self.parsers.iter().any(|p| p.active());
    }

    fn boundary(&mut self, step: Option<String>) {
        self.flush();
        self.segment_ends.push(self.last_no);
        self.segment += 1;
        self.segment_first_candidate = self.candidates.len();
        self.tail.clear();
        if step.is_some() {
            self.step = step;
        }
    }

    fn prune(&mut self) {
        self.candidates
            .sort_by(|a, b| b.confidence.cmp(&a.confidence).then(a.seq.cmp(&b.seq)));
        self.candidates.truncate(MAX_CANDIDATES);
        self.candidates.sort_by_key(|c| c.seq);
        self.segment_first_candidate = self.segment_first_candidate.min(self.candidates.len());
    }

    fn finish(mut self) -> StreamResult {
        self.flush();
        if self.candidates.len() > MAX_CANDIDATES {
            self.prune();
        }
        self.segment_ends.push(self.last_no);
        self.reruns.mark(&mut self.candidates);
        let any_failed_step = !self.failed_segments.is_empty();
        // The first verdict of each segment: a runner's summary tells what
        // kind of failure the lines the fallback found are.
        let mut verdicts: Vec<(u32, selfheal_types::Category)> = Vec::new();
        for c in self.candidates.iter().filter(|c| c.verdict) {
            if !verdicts.iter().any(|(s, _)| *s == c.segment) {
                verdicts.push((c.segment, c.category));
            }
        }
        for c in &mut self.candidates {
            if c.category == selfheal_types::Category::Unknown
                && let Some((_, category)) = verdicts.iter().find(|(s, _)| *s == c.segment)
            {
                c.category = *category;
            }
            crate::refine::refine(c);
            if c.category == selfheal_types::Category::Unknown
                && let Some(guess) = c.guess
            {
                c.category = guess;
            }
            c.step_failed = if any_failed_step {
                Some(self.failed_segments.contains(&c.segment))
            } else {
                None
            };
            if c.tool == "generic" {
                // The fallback's lines matter by how close they are to where
                // the step (or, with no step verdicts, the log) ended.
                let end = if any_failed_step {
                    self.segment_ends
                        .get(c.segment as usize)
                        .copied()
                        .unwrap_or(self.last_no)
                } else {
                    self.last_no
                };
                let dist = end.saturating_sub(c.span.end) as f64;
                c.confidence += (20.0 * 30.0 / (30.0 + dist)).round() as i32;
            }
        }
        StreamResult {
            candidates: self.candidates,
        }
    }
}

/// npm's `> name@version script [cwd]` line before a script's command.
fn is_npm_header(prev: &[u8]) -> bool {
    let Some(rest) = prev.strip_prefix(b"> ") else {
        return false;
    };
    let words = rest
        .split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty());
    let (mut n, mut first_has_at) = (0, false);
    for (i, w) in words.enumerate() {
        if i == 0 {
            first_has_at = w.iter().skip(1).any(|&b| b == b'@');
        }
        n = i + 1;
    }
    first_has_at && (2..=3).contains(&n)
}

/// Docker `BuildKit` prefixes what a `RUN` step prints with the step number
/// and the seconds since it began (`#8 12.34 ERROR: ResolutionImpossible`):
/// without it, the tool's own line is what the parsers know.
fn buildkit_prefix_len(line: &[u8]) -> usize {
    if line.first() != Some(&b'#') {
        return 0;
    }
    let digits = |from: usize| {
        line.get(from..).map_or(0, |rest| {
            rest.iter().take_while(|b| b.is_ascii_digit()).count()
        })
    };
    let step = digits(1);
    if step == 0 || line.get(1 + step) != Some(&b' ') {
        return 0;
    }
    let at = 2 + step;
    let whole = digits(at);
    if whole == 0 || line.get(at + whole) != Some(&b'.') {
        return 0;
    }
    let frac = digits(at + whole + 1);
    let end = at + whole + 1 + frac;
    if frac == 0 || line.get(end) != Some(&b' ') {
        return 0;
    }
    end + 1
}

/// The first line of a command, bounded: enough to tell what it runs.
fn command_line(cmd: &str) -> String {
    cmd.lines()
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .take(300)
        .collect()
}

/// The command of a Travis `$ cmd` line. Travis glues its fold and timer
/// markers in front (`travis_fold:end:install travis_time:start:1a2b$ make`).
fn travis_command(text: &str) -> Option<&str> {
    if let Some(cmd) = text.strip_prefix("$ ") {
        return Some(cmd);
    }
    if !text.starts_with("travis_") {
        return None;
    }
    let i = text.find("$ ")?;
    (!text[..i].contains(char::is_whitespace)).then(|| &text[i + 2..])
}

enum Marker {
    None,
    Failed,
    Passed,
}

/// CI lines that end a step and say whether it failed.
fn exit_marker(text: &str, gha_error: bool) -> Marker {
    let code_after = |rest: &str| -> Option<i64> {
        rest.trim_start()
            .split(|c: char| !c.is_ascii_digit() && c != '-')
            .next()
            .and_then(|n| n.parse().ok())
    };
    if gha_error && let Some(rest) = text.strip_prefix("Process completed with exit code") {
        return match code_after(rest) {
            Some(0) => Marker::Passed,
            _ => Marker::Failed,
        };
    }
    // Travis quotes the command, which may span lines: the verdict then
    // sits on a line of its own, `" exited with 1.`.
    if (text.starts_with("The command \"") || text.starts_with('"'))
        && let Some(i) = text.rfind("\" exited with ")
    {
        return match code_after(&text[i + 14..]) {
            Some(0) => Marker::Passed,
            _ => Marker::Failed,
        };
    }
    // `travis_retry` gives up: `The command "bundle exec push" failed 3 times.`
    if text.starts_with("The command \"")
        && let Some(i) = text.rfind("\" failed ")
        && text[i + 9..].trim_end_matches('.').ends_with(" times")
    {
        return Marker::Failed;
    }
    if text.starts_with("Build step '") && text.ends_with("marked build as failure") {
        return Marker::Failed;
    }
    if let Some(rest) = text.strip_prefix("ERROR: Job failed: exit code") {
        let _ = rest;
        return Marker::Failed;
    }
    Marker::None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every fixture, over and over, with noise between: several batches.
    fn big_log() -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .expect("fixtures folder")
            .map(|e| e.expect("fixture entry").path())
            .filter(|p| p.is_file()) // `categories/` holds more, one failure each
            .collect();
        names.sort();
        let mut out = Vec::new();
        while out.len() < 3 * BATCH_BYTES {
            for name in &names {
                out.extend_from_slice(&std::fs::read(name).expect("fixture"));
                for i in 0..200 {
                    out.extend_from_slice(
                        format!("2026-11-25T10:00:00.0000000Z compiled unit {i} without error\n")
                            .as_bytes(),
                    );
                }
            }
        }
        out
    }

    fn inline(log: &[u8]) -> String {
        let mut source = Source {
            splitter: LineSplitter::new(log),
            no: 0,
            ansi: Vec::new(),
        };
        let mut engine = Engine::new(FileContext::default(), false);
        let mut batch = Batch::default();
        loop {
            let more = source.fill(&mut batch).expect("in-memory read");
            batch.scan();
            engine.take_batch(&batch, &mut String::new());
            batch.clear();
            if !more {
                break;
            }
        }
        format!("{:?}", engine.finish().candidates)
    }

    #[test]
    fn two_threads_change_nothing() {
        let log = big_log();
        let expected = inline(&log);
        assert!(expected.len() > 1000, "the log should yield candidates");
        let got = run(&log[..], FileContext::default(), false).expect("read");
        // Not assert_eq: a mismatch would print megabytes.
        assert!(
            format!("{:?}", got.candidates) == expected,
            "threaded analysis differs"
        );
    }

    #[test]
    fn the_scan_finds_every_signature_that_matches() {
        // Every fixture line, and each with a signature's sample text
        // spliced in, so that both answers occur often.
        let log = big_log();
        let samples = [
            "write /tmp/x: No space left on device",
            "curl: (6) Could not resolve host: github.com",
            "ERROR: No matching distribution found for foo==9",
            "Error: Process completed with exit code 137.",
            "The job running on runner GitHub Actions 2 has exceeded the maximum execution time of 360 minutes.",
            "fatal: unable to access 'x': The requested URL returned error: 503 Service Unavailable",
            "npm ERR! code ERESOLVE",
            "Input required and not supplied: token",
            "  12:5  error  'x' is not defined  no-undef",
            "  3:1  Warning  mixed case: eslint's is `  warning  `",
            "FAILED tests/test_x.py::test_y - assert 1 == 2",
            "tests/test_x.py::test_y Failed, then failed and FAILED",
        ];
        let mut source = Source {
            splitter: LineSplitter::new(&log[..]),
            no: 0,
            ansi: Vec::new(),
        };
        let mut batch = Batch::default();
        let (mut lines, mut matched) = (0, 0);
        loop {
            let more = source.fill(&mut batch).expect("in-memory read");
            for sample in samples {
                batch.text.extend_from_slice(sample.as_bytes());
                batch.lines.push(Cleaned {
                    no: 0,
                    end: batch.text.len(),
                    ts: false,
                    echo: false,
                    facts: Facts::default(),
                });
            }
            batch.scan();
            let mut start = 0;
            for line in &batch.lines {
                // An anchor's exact bit is set exactly when its literal
                // occurs in the line in that case.
                let bytes = &batch.text[start..line.end];
                for anchor in Anchor::ALL {
                    assert_eq!(
                        line.facts.exact & anchor.bit() != 0,
                        memchr::memmem::find(bytes, anchor.literal().as_bytes()).is_some(),
                        "{anchor:?} in {}",
                        String::from_utf8_lossy(bytes)
                    );
                }
                let text = String::from_utf8_lossy(&batch.text[start..line.end]);
                let text = text.trim();
                let expected = parsers::infra::first_match_plain(text);
                assert_eq!(
                    parsers::infra::first_match_among(text, line.facts.infra),
                    expected,
                    "{text}"
                );
                lines += 1;
                matched += usize::from(expected.is_some());
                start = line.end;
            }
            batch.clear();
            if !more {
                break;
            }
        }
        assert!(
            lines > 10_000 && matched >= samples.len(),
            "{lines} lines, {matched} matched"
        );
    }

    /// Regression: a `Run` group that never ends (a truncated log, a
    /// generated one) hid every line after it as the step's script.
    #[test]
    fn only_the_echoed_script_of_a_step_is_skipped() {
        let log = "2026-11-25T10:00:00.0000000Z ##[group]Run make check\n\
            2026-11-25T10:00:00.0000000Z \x1b[36;1mecho \"error: not really\"\x1b[0m\n\
            2026-11-25T10:00:00.0000000Z shell: /usr/bin/bash -e {0}\n\
            2026-11-25T10:00:00.0000000Z env:\n\
            2026-11-25T10:00:00.0000000Z   CI: true\n\
            2026-11-25T10:00:01.0000000Z src/a.c:3:1: error: expected ';' before '}' token\n\
            2026-11-25T10:00:02.0000000Z ##[error]Process completed with exit code 2.\n";
        let got = run(log.as_bytes(), FileContext::default(), false).expect("read");
        let found: Vec<(u64, &str)> = got
            .candidates
            .iter()
            .filter(|c| c.tool != "generic")
            .map(|c| (c.span.start, c.tool))
            .collect();
        assert_eq!(found, [(6, "cc")]);
    }

    #[test]
    fn buildkit_step_prefixes_are_removed() {
        let strip = |l: &'static str| &l[buildkit_prefix_len(l.as_bytes())..];
        assert_eq!(
            strip("#8 12.34 ERROR: ResolutionImpossible: for help visit"),
            "ERROR: ResolutionImpossible: for help visit"
        );
        for kept in [
            "#5 [2/4] RUN pip install -r requirements.txt",
            "#8 DONE 0.1s",
            "# 1.0 comment",
            "#8 12.34",
        ] {
            assert_eq!(strip(kept), kept);
        }
    }

    #[test]
    fn commands_are_found_behind_ci_markers() {
        assert_eq!(travis_command("$ make test"), Some("make test"));
        assert_eq!(
            travis_command(
                "travis_time:end:0796ad5a:start=1,finish=2,duration=3travis_fold:start:install$ npm ci"
            ),
            Some("npm ci")
        );
        assert_eq!(travis_command("echo $ 5"), None);
        assert!(is_npm_header(b"> shop@1.0.0 lint:js"));
        assert!(is_npm_header(
            b"> git-it@4.0.0 test /home/travis/build/jlord/git-it"
        ));
        assert!(is_npm_header(b"> @acme/ui@2.1.0 lint"));
        assert!(!is_npm_header(b"> Task :app:test"));
    }

    #[test]
    fn step_verdicts_of_each_ci_are_recognised() {
        let failed = |t: &str, gha: bool| matches!(exit_marker(t, gha), Marker::Failed);
        assert!(failed("Process completed with exit code 2.", true));
        assert!(!failed("Process completed with exit code 2.", false));
        assert!(failed("The command \"make test\" exited with 1.", false));
        assert!(matches!(
            exit_marker("The command \"make\" exited with 0.", false),
            Marker::Passed
        ));
        assert!(failed("The command \"./deploy.sh\" failed 3 times.", false));
        assert!(!failed(
            "The command \"./deploy.sh\" failed. Retrying, 2 of 3.",
            false
        ));
        // Regression: Travis puts the verdict of a multi-line command on its own line.
        assert!(failed("\" exited with 1.", false));
        assert!(failed(
            "Build step 'Invoke top-level Maven targets' marked build as failure",
            false
        ));
    }
}
