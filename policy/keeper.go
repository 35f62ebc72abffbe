package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Source says where the policy in force comes from.
type Source string

const (
	// SourceDefault: the built-in defaults; no file, none set through
	// the API.
	SourceDefault Source = "default"
	// SourceFile: the operator's file (serve --policy), read at start and
	// again on Reload (SIGHUP).
	SourceFile Source = "file"
	// SourceAPI: set through the API (PUT /v1/policy) and kept in the
	// store, so that it survives restarts.
	SourceAPI Source = "api"
)

// Store keeps the policy set through the API.
type Store interface {
	// PolicyDocument returns the stored document and when it was set;
	// ok is false when none was ever set.
	PolicyDocument(ctx context.Context) (doc []byte, setAt time.Time, ok bool, err error)
	// SetPolicyDocument stores doc, replacing any earlier one.
	SetPolicyDocument(ctx context.Context, doc []byte, setAt time.Time) error
}

// ErrFromFile is the error of Replace on a Keeper whose policy comes from a
// file: the file is the operator's record, and a change through the API
// would silently vanish at the next reload or restart.
var ErrFromFile = errors.New("the policy is read from a file")

// InvalidError is a policy document that does not parse or breaks a rule of
// its own format; its message names the field.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// State is the policy in force and where it comes from.
type State struct {
	Policy *Policy
	Source Source
	// File is the path of the policy file for SourceFile.
	File string
	// Since is when this policy came into force: read from the file, or
	// set through the API.
	Since time.Time
	// ReloadError is why the last Reload of the file failed, at
	// ReloadFailedAt, when it did since this policy came into force: the
	// file on disk is not the policy in force.
	ReloadError    string
	ReloadFailedAt time.Time
}

// KeeperConfig configures NewKeeper.
type KeeperConfig struct {
	// File, when set, is the policy file: it is read at start and on
	// Reload, and Replace is refused.
	File string
	// Store keeps the policy set through the API; nil keeps it in memory
	// only.
	Store Store
	// Adjust, when set, is applied to every policy before it comes into
	// force (the server adds its own Engine socket and log cap).
	Adjust func(*Policy) *Policy
	// OnChange, when set, is called after a new policy came into force,
	// outside the keeper's lock (the controller wakes the jobs a raised
	// cap lets start).
	OnChange func(State)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Keeper holds the policy in force and replaces it whole: every reader sees
// either the old policy or the new one, never a mix. It is safe for
// concurrent use.
type Keeper struct {
	cfg KeeperConfig
	// mu serialises changes; readers only load cur.
	mu  sync.Mutex
	cur atomic.Pointer[State]
}

// NewKeeper returns a Keeper with the policy of cfg.File when set, else the
// one stored through the API, else the built-in defaults. A stored policy
// that no longer parses is an error, not a fall back to the defaults, which
// would loosen every rule it set; a policy file overrides it.
func NewKeeper(ctx context.Context, cfg KeeperConfig) (*Keeper, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	k := &Keeper{cfg: cfg}
	st := State{Policy: Default(), Source: SourceDefault, Since: cfg.Now()}
	switch {
	case cfg.File != "":
		p, err := Load(cfg.File)
		if err != nil {
			return nil, err
		}
		st = State{Policy: p, Source: SourceFile, File: cfg.File, Since: cfg.Now()}
	case cfg.Store != nil:
		doc, setAt, ok, err := cfg.Store.PolicyDocument(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the policy set through the API: %w", err)
		}
		if ok {
			p, err := Parse(doc)
			if err != nil {
				return nil, fmt.Errorf("the policy set through the API no longer parses (a policy file given with --policy overrides it): %w", err)
			}
			st = State{Policy: p, Source: SourceAPI, Since: setAt}
		}
	}
	k.install(st)
	return k, nil
}

// Fixed returns a Keeper of p that no file backs and no store keeps: for
// tests and for servers embedded in other programs.
func Fixed(p *Policy) *Keeper {
	k := &Keeper{cfg: KeeperConfig{Now: time.Now}}
	k.install(State{Policy: p, Source: SourceDefault, Since: time.Now()})
	return k
}

// Policy returns the policy in force.
func (k *Keeper) Policy() *Policy { return k.cur.Load().Policy }

// State returns the policy in force and where it comes from.
func (k *Keeper) State() State { return *k.cur.Load() }

// Reload reads the policy file again and puts it in force. On any error
// the policy in force stays. Without a file there is nothing to reload:
// it returns the state unchanged.
func (k *Keeper) Reload() (State, error) {
	if k.cfg.File == "" {
		return k.State(), nil
	}
	// Read under the lock, so that of two reloads the later read is the
	// one in force.
	k.mu.Lock()
	p, err := Load(k.cfg.File)
	if err != nil {
		st := k.State()
		st.ReloadError, st.ReloadFailedAt = err.Error(), k.cfg.Now()
		k.cur.Store(&st)
		k.mu.Unlock()
		return st, err
	}
	k.install(State{Policy: p, Source: SourceFile, File: k.cfg.File, Since: k.cfg.Now()})
	k.mu.Unlock()
	k.changed()
	return k.State(), nil
}

// Replace puts the policy of f in force and stores it, so that it survives
// restarts. It returns an *InvalidError for a document that breaks the
// format's rules, ErrFromFile when a file governs the policy, and the
// store's error, with the old policy still in force, when it cannot keep it.
func (k *Keeper) Replace(ctx context.Context, f File) (State, error) {
	if k.cfg.File != "" {
		return k.State(), ErrFromFile
	}
	p, err := New(f)
	if err != nil {
		return k.State(), &InvalidError{err}
	}
	doc, err := json.Marshal(p.file)
	if err != nil {
		return k.State(), err
	}
	k.mu.Lock()
	now := k.cfg.Now().UTC()
	if k.cfg.Store != nil {
		if err := k.cfg.Store.SetPolicyDocument(ctx, doc, now); err != nil {
			k.mu.Unlock()
			return k.State(), fmt.Errorf("storing the policy: %w", err)
		}
	}
	k.install(State{Policy: p, Source: SourceAPI, Since: now})
	k.mu.Unlock()
	k.changed()
	return k.State(), nil
}

// install puts st in force, adjusted.
func (k *Keeper) install(st State) {
	if k.cfg.Adjust != nil {
		st.Policy = k.cfg.Adjust(st.Policy)
	}
	k.cur.Store(&st)
}

func (k *Keeper) changed() {
	if k.cfg.OnChange != nil {
		k.cfg.OnChange(k.State())
	}
}

// File returns the document the policy was built from: what a policy file
// holds, or what was set through the API. The result shares nothing with
// p.
func (p *Policy) File() File {
	f := File{Defaults: p.file.Defaults.clone()}
	if p.file.Tenants != nil {
		f.Tenants = maps.Clone(p.file.Tenants)
		for name, r := range f.Tenants {
			f.Tenants[name] = r.clone()
		}
	}
	return f
}

// ForTenant returns the rules of tenant as For does, with {tenant} in its
// patterns replaced by the tenant's name: what the tenant may use, as it
// reads it.
func (p *Policy) ForTenant(tenant string) Rules {
	r := p.For(tenant).clone()
	for _, list := range [][]string{r.AllowedVolumes, r.AllowedImages, r.AllowedSecrets, r.AllowedConfigs} {
		for i, pat := range list {
			list[i] = strings.ReplaceAll(pat, TenantPlaceholder, tenant)
		}
	}
	return r
}

// clone returns a copy of r that shares no list or value with it.
func (r Rules) clone() Rules {
	b, err := json.Marshal(r)
	if err != nil {
		panic(fmt.Sprintf("policy: encoding rules: %v", err)) // plain fields only
	}
	var c Rules
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("policy: decoding rules: %v", err))
	}
	return c
}
