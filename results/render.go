package results

import (
	"io"

	"github.com/swarmjob/swarmjob/jobs"
)

// Renderer writes stored chunks as the text a user reads: with their
// timestamps, or without them. Chunks of stdout and stderr may interleave
// and split lines; the renderer keeps line state per stream. Not safe for
// concurrent use.
type Renderer struct {
	w          io.Writer
	timestamps bool
	midLine    [3]bool
	inStamp    [3]bool
	buf        []byte
}

// NewRenderer returns a Renderer writing to w.
func NewRenderer(w io.Writer, timestamps bool) *Renderer {
	return &Renderer{w: w, timestamps: timestamps}
}

// Write renders one chunk.
func (r *Renderer) Write(c jobs.LogChunk) error {
	if r.timestamps {
		_, err := r.w.Write(c.Data)
		return err
	}
	s := c.Stream
	if s > jobs.Stderr {
		s = jobs.Stdout
	}
	r.buf = r.buf[:0]
	for _, b := range c.Data {
		if !r.midLine[s] {
			r.midLine[s], r.inStamp[s] = true, true
		}
		if r.inStamp[s] {
			if b == ' ' {
				r.inStamp[s] = false
			}
			continue
		}
		r.buf = append(r.buf, b)
		if b == '\n' {
			r.midLine[s] = false
		}
	}
	_, err := r.w.Write(r.buf)
	return err
}
