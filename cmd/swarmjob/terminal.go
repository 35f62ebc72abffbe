package main

import (
	"io"

	"github.com/mattn/go-isatty"
)

// isTerminal reports whether w is a terminal, where wait shows a live status
// line and watch redraws its table. A writer may say so itself with an
// IsTerminal method (tests do); otherwise it is a terminal when it is a
// file whose descriptor is one.
func isTerminal(w io.Writer) bool {
	switch w := w.(type) {
	case interface{ IsTerminal() bool }:
		return w.IsTerminal()
	case interface{ Fd() uintptr }:
		return isatty.IsTerminal(w.Fd()) || isatty.IsCygwinTerminal(w.Fd())
	}
	return false
}

// Escape sequences of ANSI terminals.
const (
	// eraseLine moves to the start of the line and clears it.
	eraseLine = "\r\x1b[K"
	// clearScreen moves to the top left corner and clears the screen.
	clearScreen = "\x1b[H\x1b[2J"
)
