// Package results turns a Swarm service's multiplexed log stream into stored
// results, and stored results back into the text users read.
//
// Capture is the only way output enters the store: it demultiplexes stdout
// and stderr, keeps each line's Engine timestamp, caps the bytes kept per
// attempt, and writes bounded chunks as it reads, so that memory use does not
// depend on the size of the output.
package results

import (
	"errors"
	"fmt"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"

	"github.com/swarmjob/swarmjob/jobs"
)

// DefaultMaxBytes is the default cap on the output kept per attempt.
const DefaultMaxBytes = 1 << 20

// chunkSize bounds one stored chunk and so the memory a capture holds.
const chunkSize = 64 << 10

// AppendFunc stores one chunk of output; seq increases by one per chunk,
// across both streams, from 0.
type AppendFunc func(seq int, stream jobs.Stream, data []byte) error

// Summary describes a finished capture.
type Summary struct {
	// Bytes counts the output bytes kept, without the timestamps.
	Bytes int64
	// Truncated is set when output past maxBytes was dropped.
	Truncated bool
}

var errFull = errors.New("log cap reached")

// Capture reads a multiplexed log stream whose lines carry timestamps (as the
// Engine sends with Timestamps=true) and passes it to appendChunk in chunks of
// at most 64 KiB, each of one stream, in the order the Engine sent them. At
// most maxBytes bytes of output (timestamps not counted) are kept; the rest
// is dropped and Summary.Truncated set. It returns when src ends, when the
// cap is reached, or on the first error from src or appendChunk; an error
// the Engine reports inside the stream (such as an unreachable node) is
// returned as an error.
func Capture(src io.Reader, maxBytes int64, appendChunk AppendFunc) (Summary, error) {
	c := &capture{budget: maxBytes, appendChunk: appendChunk}
	c.lineStart[jobs.Stdout], c.lineStart[jobs.Stderr] = true, true
	_, err := stdcopy.StdCopy(c.writer(jobs.Stdout), c.writer(jobs.Stderr), src)
	if errors.Is(err, errFull) {
		c.truncated = true
		err = nil
	}
	if err != nil {
		return Summary{}, fmt.Errorf("reading log stream: %w", err)
	}
	if err := c.flush(); err != nil {
		return Summary{}, err
	}
	return Summary{Bytes: c.kept, Truncated: c.truncated}, nil
}

type capture struct {
	appendChunk AppendFunc
	budget      int64
	kept        int64
	truncated   bool

	seq    int
	stream jobs.Stream
	buf    []byte
	// lineStart tells, per stream, whether the next byte starts a line and
	// so a timestamp; inStamp whether we are inside that timestamp.
	lineStart [3]bool
	inStamp   [3]bool
}

type streamWriter struct {
	c      *capture
	stream jobs.Stream
}

func (c *capture) writer(s jobs.Stream) io.Writer { return streamWriter{c, s} }

func (w streamWriter) Write(p []byte) (int, error) {
	if err := w.c.write(w.stream, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// write appends p to the current chunk, counting output bytes against the
// budget; timestamps ride along without being counted.
func (c *capture) write(s jobs.Stream, p []byte) error {
	if c.stream != s && len(c.buf) > 0 {
		if err := c.flush(); err != nil {
			return err
		}
	}
	c.stream = s
	for i := 0; i < len(p); i++ {
		b := p[i]
		switch {
		case c.lineStart[s]:
			c.lineStart[s], c.inStamp[s] = false, true
			i-- // reprocess b as part of the timestamp
			continue
		case c.inStamp[s]:
			if b == ' ' {
				c.inStamp[s] = false
			}
		default:
			if c.kept >= c.budget {
				return errFull
			}
			c.kept++
			if b == '\n' {
				c.lineStart[s] = true
			}
		}
		c.buf = append(c.buf, b)
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
