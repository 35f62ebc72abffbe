package results

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/swarmjob/swarmjob/jobs"
)

// Segment is a piece of one line of output: a whole line, or a part of a
// line that the Engine split into several messages (or that a chunk
// boundary split). The segments of one stream, in order, give that stream's
// lines; segments of stdout and stderr may interleave.
type Segment struct {
	Stream jobs.Stream
	// Start is set on the first segment of a line.
	Start bool
	// Stamp is the line's Engine timestamp (RFC 3339, without the space
	// that follows it), set only on a segment that starts a line; nil when
	// the line has none.
	Stamp []byte
	// Text is the segment's output; it ends in '\n' when the segment ends
	// its line, and holds no other '\n'. Never empty.
	Text []byte
}

// EndsLine reports whether the segment is the last of its line.
func (s Segment) EndsLine() bool { return s.Text[len(s.Text)-1] == '\n' }

// EngineReader reads the Engine's multiplexed log stream whose messages carry
// timestamps (as the Engine sends with Timestamps=true) and returns it as
// Segments, joining a line the Engine split into several messages the same
// way Capture stores it: one line, stamped with its first message's
// timestamp. Capture is built on it, so that a live reader and the stored
// output see the same lines. Not safe for concurrent use.
type EngineReader struct {
	br      *bufio.Reader
	hdr     [8]byte
	payload []byte
	// stream, stamp and rest are the unread part of the current message.
	stream jobs.Stream
	stamp  []byte
	rest   []byte
	// lineStart tells, per stream, whether the next text starts a line.
	lineStart [3]bool
}

// NewEngineReader returns an EngineReader reading src.
func NewEngineReader(src io.Reader) *EngineReader {
	r := &EngineReader{br: bufio.NewReaderSize(src, 32<<10), payload: make([]byte, 0, 32<<10)}
	r.lineStart[jobs.Stdout], r.lineStart[jobs.Stderr] = true, true
	return r
}

// Next returns the next segment. Its slices are valid until the next call.
// At the end of the stream it returns io.EOF. A malformed stream, a read
// error, or an error the Engine reports inside the stream (such as an
// unreachable node) is returned as an error; Next must not be called after
// an error.
func (r *EngineReader) Next() (Segment, error) {
	for len(r.rest) == 0 {
		if err := r.readMessage(); err != nil {
			return Segment{}, err
		}
	}
	s := r.stream
	line := r.rest
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i+1]
	}
	r.rest = r.rest[len(line):]
	seg := Segment{Stream: s, Start: r.lineStart[s], Text: line}
	if seg.Start {
		seg.Stamp = r.stamp
	}
	r.lineStart[s] = seg.EndsLine()
	return seg, nil
}

// Buffered reports whether input is waiting that Next can return without
// blocking on the source; a caller relaying segments flushes when it is not.
func (r *EngineReader) Buffered() bool { return len(r.rest) > 0 || r.br.Buffered() > 0 }

// readMessage reads one frame: one byte of stream type, three zero bytes, a
// big-endian uint32 length, then the payload "<timestamp> <text>".
func (r *EngineReader) readMessage() error {
	if _, err := io.ReadFull(r.br, r.hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("reading log stream: truncated frame header")
		}
		return fmt.Errorf("reading log stream: %w", err)
	}
	size := binary.BigEndian.Uint32(r.hdr[4:])
	if size > maxFrame {
		return fmt.Errorf("reading log stream: frame of %d bytes exceeds %d", size, maxFrame)
	}
	if int(size) > cap(r.payload) {
		r.payload = make([]byte, size)
	}
	r.payload = r.payload[:size]
	if _, err := io.ReadFull(r.br, r.payload); err != nil {
		return fmt.Errorf("reading log stream: truncated frame: %w", err)
	}
	switch r.hdr[0] {
	case frameStdin, frameStdout:
		r.stream = jobs.Stdout
	case frameStderr:
		r.stream = jobs.Stderr
	case frameSystem:
		return fmt.Errorf("error from the engine in the log stream: %s", bytes.TrimSpace(r.payload))
	default:
		return fmt.Errorf("reading log stream: unknown stream type %d", r.hdr[0])
	}
	ts, text, ok := bytes.Cut(r.payload, []byte{' '})
	if !ok {
		// Not in the timestamped form: keep it as text.
		ts, text = nil, r.payload
	}
	r.stamp, r.rest = ts, text
	return nil
}

// Splitter splits stored chunks back into Segments. Chunks of stdout and
// stderr may interleave, and a chunk boundary may fall anywhere, even inside
// a timestamp; the Splitter keeps line state per stream. Everything up to
// the first space of a line is its timestamp, as Capture stores it; a line
// that ends before any space has none. Not safe for concurrent use.
type Splitter struct {
	st [3]splitState
}

type splitState struct {
	// inLine: the line's timestamp is complete and its text is being read.
	inLine bool
	// started: a segment of the current line was returned already.
	started bool
	// stamp collects the current line's timestamp, across chunks.
	stamp []byte
}

// Split calls fn for each segment of chunk c, in order, and stops at the
// first error fn returns. The segments' slices are valid only during the
// call of fn. Output of a stream other than Stdout and Stderr counts as
// Stdout.
func (s *Splitter) Split(c jobs.LogChunk, fn func(Segment) error) error {
	stream := c.Stream
	if stream != jobs.Stderr {
		stream = jobs.Stdout
	}
	st := &s.st[stream]
	data := c.Data
	for len(data) > 0 {
		if !st.inLine {
			sp := bytes.IndexByte(data, ' ')
			nl := bytes.IndexByte(data, '\n')
			switch {
			case sp >= 0 && (nl < 0 || sp < nl):
				st.stamp = append(st.stamp, data[:sp]...)
				data = data[sp+1:]
				st.inLine, st.started = true, false
			case nl >= 0:
				// A line without a timestamp: what was collected is text.
				text := append(st.stamp, data[:nl+1]...)
				st.stamp = text[:0]
				data = data[nl+1:]
				if err := fn(Segment{Stream: stream, Start: true, Text: text}); err != nil {
					return err
				}
			default:
				st.stamp = append(st.stamp, data...)
				data = nil
			}
			continue
		}
		line := data
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i+1]
		}
		data = data[len(line):]
		seg := Segment{Stream: stream, Start: !st.started, Text: line}
		if seg.Start {
			seg.Stamp = st.stamp
		}
		st.started = true
		if seg.EndsLine() {
			st.inLine = false
			st.stamp = st.stamp[:0]
		}
		if err := fn(seg); err != nil {
			return err
		}
	}
	return nil
}

// Position counts, per stream, the whole lines and the text bytes of the
// unfinished line in the segments a reader has seen of one attempt's output.
// A reader that relayed part of an attempt's output live records it with
// Advance; reading the stored output afterwards, Trim drops what the
// Position covers, so that nothing is shown twice. This is exact when the
// second reading is the same output, or a longer one, in the same per-stream
// order: the stored output is captured from the same Engine log after the
// task ended. The zero Position is at the start. Not safe for concurrent
// use.
type Position struct {
	lines   [3]int64
	partial [3]int64
}

// Advance moves p past s.
func (p *Position) Advance(s Segment) {
	st := streamIndex(s.Stream)
	if s.EndsLine() {
		p.lines[st]++
		p.partial[st] = 0
		return
	}
	p.partial[st] += int64(len(s.Text))
}

// Trim returns the part of s beyond p and consumes p by the part it
// dropped; ok is false when all of s lies within p. Pass a second reading's
// segments in order. A segment cut in the middle of a line comes back
// without its Start and Stamp, as the rest of a line begun earlier.
func (p *Position) Trim(s Segment) (rest Segment, ok bool) {
	st := streamIndex(s.Stream)
	if p.lines[st] > 0 {
		if s.EndsLine() {
			p.lines[st]--
		}
		return Segment{}, false
	}
	if n := p.partial[st]; n > 0 {
		n = min(n, int64(len(s.Text)))
		p.partial[st] -= n
		if n == int64(len(s.Text)) {
			if s.EndsLine() {
				// The second reading ends this line sooner: resume in
				// step with it rather than eat into its next line.
				p.partial[st] = 0
			}
			return Segment{}, false
		}
		return Segment{Stream: s.Stream, Text: s.Text[n:]}, true
	}
	return s, true
}

func streamIndex(s jobs.Stream) int {
	if s == jobs.Stderr {
		return int(jobs.Stderr)
	}
	return int(jobs.Stdout)
}
