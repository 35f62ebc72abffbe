// Package results turns a Swarm service's multiplexed log stream into stored
// results, and stored results back into the text users read.
//
// Capture is the only way output enters the store: it demultiplexes stdout
// and stderr, keeps each line's Engine timestamp, caps the bytes kept per
// attempt, and writes bounded chunks as it reads, so that memory use does not
// depend on the size of the output.
//
// EngineReader and Splitter are the two parsers everything else shares: the
// first turns the Engine's stream into line segments (Capture stores them,
// and a live reader can relay them), the second turns stored chunks back
// into the same segments (Renderer and the API's log writer use it).
package results

import (
	"errors"
	"fmt"
	"io"

	"github.com/swarmjob/swarmjob/jobs"
)

// DefaultMaxBytes is the default cap on the output kept per attempt.
const DefaultMaxBytes = 1 << 20

// chunkSize bounds one stored chunk and so the memory a capture holds.
const chunkSize = 64 << 10

// maxFrame bounds one frame of the Engine's stream. The Engine splits log
// lines into messages of 16 KiB; anything far larger is a corrupt stream.
const maxFrame = 1 << 20

// Frame stream types of the Engine's multiplexed format.
const (
	frameStdin  = 0
	frameStdout = 1
	frameStderr = 2
	frameSystem = 3
)

// AppendFunc stores one chunk of output; seq increases by one per chunk,
// across both streams, from 0.
type AppendFunc func(seq int, stream jobs.Stream, data []byte) error

// Summary describes a finished capture.
type Summary struct {
	// Bytes counts the output bytes kept, without the timestamps.
	Bytes int64
	// Truncated is set when output past the cap was dropped.
	Truncated bool
}

var errFull = errors.New("log cap reached")

// Capture reads a multiplexed log stream whose messages carry timestamps (as
// the Engine sends with Timestamps=true) and passes it to appendChunk in
// chunks of at most 64 KiB, each of one stream, in the order the Engine sent
// them. Stored lines have the form "<RFC 3339 timestamp> <text>\n"; a line
// the Engine split into several messages is stored as one line with the
// first message's timestamp.
//
// At most maxBytes bytes of output (timestamps not counted) are kept, and at
// most 4*maxBytes+64 KiB stored bytes (timestamps counted, which bounds
// storage for output of very short lines); the rest is dropped and
// Summary.Truncated set. Capture returns when src ends, when the cap is
// reached, or on the first error from src or appendChunk; an error the
// Engine reports inside the stream (such as an unreachable node) is returned
// as an error, after the output before it was passed on.
func Capture(src io.Reader, maxBytes int64, appendChunk AppendFunc) (Summary, error) {
	c := &capture{budget: maxBytes, storeBudget: 4*maxBytes + chunkSize, appendChunk: appendChunk}
	err := c.demux(src)
	if errors.Is(err, errFull) {
		c.truncated = true
		err = nil
	}
	if ferr := c.flush(); ferr != nil && err == nil {
		err = ferr
	}
	return Summary{Bytes: c.kept, Truncated: c.truncated}, err
}

type capture struct {
	appendChunk AppendFunc
	budget      int64
	storeBudget int64
	kept        int64
	stored      int64
	truncated   bool

	seq    int
	stream jobs.Stream
	buf    []byte
}

// demux stores the segments of src: the timestamp at the start of a line
// (dropped on a segment that continues a line), then the text.
func (c *capture) demux(src io.Reader) error {
	r := NewEngineReader(src)
	for {
		seg, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if seg.Start && seg.Stamp != nil {
			if err := c.write(seg.Stream, seg.Stamp, false); err != nil {
				return err
			}
			if err := c.write(seg.Stream, []byte{' '}, false); err != nil {
				return err
			}
		}
		if err := c.write(seg.Stream, seg.Text, true); err != nil {
			return err
		}
	}
}

// write appends p to the current chunk; counted bytes are output bytes
// (against the output cap), all bytes count against the storage cap.
func (c *capture) write(s jobs.Stream, p []byte, counted bool) error {
	if c.stream != s && len(c.buf) > 0 {
		if err := c.flush(); err != nil {
			return err
		}
	}
	c.stream = s
	for len(p) > 0 {
		n := int64(len(p))
		if counted {
			n = min(n, c.budget-c.kept)
		}
		n = min(n, c.storeBudget-c.stored, int64(chunkSize-len(c.buf)))
		if n <= 0 && (c.stored >= c.storeBudget || (counted && c.kept >= c.budget)) {
			return errFull
		}
		c.buf = append(c.buf, p[:n]...)
		c.stored += n
		if counted {
			c.kept += n
		}
		p = p[n:]
		if len(c.buf) >= chunkSize {
			if err := c.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *capture) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	if err := c.appendChunk(c.seq, c.stream, c.buf); err != nil {
		return fmt.Errorf("storing log chunk %d: %w", c.seq, err)
	}
	c.seq++
	c.buf = c.buf[:0]
	return nil
}
