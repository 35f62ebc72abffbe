package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/swarmjob/swarmjob/api/types"
)

// fileRefFlag is the repeatable --secret or --config flag, in the docker
// CLI's syntax: NAME, or comma-separated key=value pairs with source (or
// src), target, uid, gid and mode (octal, such as 0400). The server checks
// the values; the flag only parses them.
type fileRefFlag struct {
	refs []types.FileRef
	vals []string
}

func (f *fileRefFlag) Set(s string) error {
	ref, err := parseFileRef(s)
	if err != nil {
		return err
	}
	f.refs = append(f.refs, ref)
	f.vals = append(f.vals, s)
	return nil
}

func (f *fileRefFlag) String() string { return strings.Join(f.vals, " ") }
func (f *fileRefFlag) Type() string   { return "NAME|source=NAME,target=PATH,uid=N,gid=N,mode=0400" }

func parseFileRef(s string) (types.FileRef, error) {
	if !strings.Contains(s, "=") {
		if s == "" || strings.Contains(s, ",") {
			return types.FileRef{}, errors.New("must be a name, or source=NAME with target, uid, gid and mode")
		}
		return types.FileRef{Name: s}, nil
	}
	var ref types.FileRef
	seen := map[string]bool{}
	for kv := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "src" {
			k = "source"
		}
		if !ok || v == "" {
			return types.FileRef{}, fmt.Errorf("%q: want key=value", kv)
		}
		if seen[k] {
			return types.FileRef{}, fmt.Errorf("%s: given twice", k)
		}
		seen[k] = true
		switch k {
		case "source":
			ref.Name = v
		case "target":
			ref.Target = v
		case "uid":
			ref.UID = v
		case "gid":
			ref.GID = v
		case "mode":
			m, err := strconv.ParseUint(v, 8, 32)
			if err != nil {
				return types.FileRef{}, fmt.Errorf("mode: %q is not an octal mode such as 0400", v)
			}
			mode := uint32(m)
			ref.Mode = &mode
		default:
			return types.FileRef{}, fmt.Errorf("unknown key %q (want source, target, uid, gid or mode)", k)
		}
	}
	if ref.Name == "" {
		return types.FileRef{}, errors.New("source=NAME is required")
	}
	return ref, nil
}
