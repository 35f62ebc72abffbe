package results

import (
	"io"

	"github.com/swarmjob/swarmjob/jobs"
)

// Renderer writes stored chunks as the text a user reads: with their
// timestamps ("<timestamp> <text>", as stored), or without them. Chunks of
// stdout and stderr may interleave and split lines; the renderer keeps line
// state per stream. Not safe for concurrent use.
type Renderer struct {
	w          io.Writer
	timestamps bool
	split      Splitter
	buf        []byte
}

// NewRenderer returns a Renderer writing to w.
func NewRenderer(w io.Writer, timestamps bool) *Renderer {
	return &Renderer{w: w, timestamps: timestamps}
}

// Write renders one chunk with one Write to the underlying writer, and
// returns its error.
func (r *Renderer) Write(c jobs.LogChunk) error {
	r.buf = r.buf[:0]
	if err := r.split.Split(c, r.append); err != nil {
		return err
	}
	if len(r.buf) == 0 {
		return nil
	}
	_, err := r.w.Write(r.buf)
	return err
}

func (r *Renderer) append(s Segment) error {
	r.buf = AppendSegment(r.buf, s, r.timestamps)
	return nil
}

// AppendSegment appends s to dst as a user reads it: the text, preceded by
// the timestamp and a space when timestamps is set and s starts a line that
// has one.
func AppendSegment(dst []byte, s Segment, timestamps bool) []byte {
	if timestamps && s.Start && len(s.Stamp) > 0 {
		dst = append(dst, s.Stamp...)
		dst = append(dst, ' ')
	}
	return append(dst, s.Text...)
}
