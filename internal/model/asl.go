package model

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
)

// Definition is the part of a Step Functions definition the model reads: every state, nested
// ones included, by name, with the Map state each runs in.
type Definition struct {
	// StartAt is the top level's first state.
	StartAt string
	// States holds every state of the definition and of its Maps' processors, by name.
	States map[string]*State
	// In names the Map state whose processor holds a state; "" for the top level.
	In map[string]string
	// names lists the state names in a fixed order; index gives each its position.
	names []string
	index map[string]int
}

// State is one state of a definition, with the fields the model reads, named as in the
// Amazon States Language; Processor is a Map's ItemProcessor.
type State struct {
	Type               string    `json:"Type"`
	Resource           string    `json:"Resource"`
	Next               string    `json:"Next"`
	Default            string    `json:"Default"`
	End                bool      `json:"End"`
	Choices            []Choice  `json:"Choices"`
	Catch              []Catcher `json:"Catch"`
	Retry              []Retrier `json:"Retry"`
	ItemsPath          string    `json:"ItemsPath"`
	MaxConcurrency     int       `json:"MaxConcurrency"`
	MaxConcurrencyPath string    `json:"MaxConcurrencyPath"`
	TimeoutSecondsPath string    `json:"TimeoutSecondsPath"`
	Processor          *struct {
		ProcessorConfig struct {
			Mode          string `json:"Mode"`
			ExecutionType string `json:"ExecutionType"`
		} `json:"ProcessorConfig"`
		StartAt string            `json:"StartAt"`
		States  map[string]*State `json:"States"`
	} `json:"ItemProcessor"`
}

// Choice is one rule of a Choice state; the model reads where it goes.
type Choice struct {
	Next string `json:"Next"`
}

// Catcher is one Catch rule of a state.
type Catcher struct {
	ErrorEquals []string `json:"ErrorEquals"`
	Next        string   `json:"Next"`
}

// Retrier is one Retry rule of a state, its fields named as in the Amazon States Language,
// with the language's defaults for fields it omits (IntervalSeconds 1, MaxAttempts 3,
// BackoffRate 2.0, no maximum delay, no jitter).
type Retrier struct {
	ErrorEquals     []string `json:"ErrorEquals"`
	IntervalSeconds *float64 `json:"IntervalSeconds"`
	MaxAttempts     *int     `json:"MaxAttempts"`
	BackoffRate     *float64 `json:"BackoffRate"`
	MaxDelaySeconds float64  `json:"MaxDelaySeconds"`
	JitterStrategy  string   `json:"JitterStrategy"`
}

// Attempts is how many retries the rule allows.
func (r Retrier) Attempts() int {
	if r.MaxAttempts == nil {
		return 3
	}
	return *r.MaxAttempts
}

// Delay is the wait before retry n (from 1), in seconds: IntervalSeconds × BackoffRate^(n-1),
// capped at MaxDelaySeconds, and with FULL jitter scaled by u, a uniform draw in [0, 1).
func (r Retrier) Delay(n int, u float64) float64 {
	interval, rate := 1.0, 2.0
	if r.IntervalSeconds != nil {
		interval = *r.IntervalSeconds
	}
	if r.BackoffRate != nil {
		rate = *r.BackoffRate
	}
	d := interval * math.Pow(rate, float64(n-1))
	if r.MaxDelaySeconds > 0 {
		d = min(d, r.MaxDelaySeconds)
	}
	if r.JitterStrategy == "FULL" {
		d *= u
	}
	return d
}

// ReadDefinition reads a definition from a file.
func ReadDefinition(path string) (*Definition, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read definition: %w", err)
	}
	return ParseDefinition(raw)
}

// ParseDefinition parses a definition's JSON and flattens its states. State names must be
// unique across the nesting, as the functions and the local runner key states by name.
func ParseDefinition(raw []byte) (*Definition, error) {
	var top struct {
		StartAt string            `json:"StartAt"`
		States  map[string]*State `json:"States"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("parse definition: %w", err)
	}
	d := &Definition{StartAt: top.StartAt, States: map[string]*State{}, In: map[string]string{}, index: map[string]int{}}
	if err := d.add(top.States, ""); err != nil {
		return nil, err
	}
	slices.Sort(d.names)
	for i, n := range d.names {
		d.index[n] = i
	}
	return d, nil
}

func (d *Definition) add(states map[string]*State, in string) error {
	for name, s := range states {
		if _, dup := d.States[name]; dup {
			return fmt.Errorf("parse definition: two states are named %s", name)
		}
		d.States[name], d.In[name] = s, in
		d.names = append(d.names, name)
		if s.Processor != nil {
			if err := d.add(s.Processor.States, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// NextStates is every state a state may go to: Next, Default, its Choices' and its Catchers'.
func (s *State) NextStates() []string {
	out := []string{s.Next, s.Default}
	for _, c := range s.Choices {
		out = append(out, c.Next)
	}
	for _, c := range s.Catch {
		out = append(out, c.Next)
	}
	return out
}

// Path checks that each named state exists and may go to the one after it.
func (d *Definition) Path(names ...string) error {
	for i, n := range names {
		if _, ok := d.States[n]; !ok {
			return fmt.Errorf("the model enters state %s, which the definition lacks", n)
		}
		if i > 0 && !slices.Contains(d.States[names[i-1]].NextStates(), n) {
			return fmt.Errorf("the model has %s go to %s, which the definition does not", names[i-1], n)
		}
	}
	return nil
}

// Ends checks that a state ends its execution or its Map iteration.
func (d *Definition) Ends(name string) error {
	s, ok := d.States[name]
	if !ok || !s.End {
		return fmt.Errorf("the model ends at %s, which does not end in the definition", name)
	}
	return nil
}

// RetrierFor is the first Retry rule of a state that matches an error name (or States.ALL),
// as Step Functions picks it; false when none does.
func (d *Definition) RetrierFor(state, errName string) (Retrier, bool) {
	for _, r := range d.States[state].Retry {
		if slices.Contains(r.ErrorEquals, errName) || slices.Contains(r.ErrorEquals, "States.ALL") {
			return r, true
		}
	}
	return Retrier{}, false
}

// CatchFor is the state a Catch rule sends an error to; false when no rule matches.
func (d *Definition) CatchFor(state, errName string) (string, bool) {
	for _, c := range d.States[state].Catch {
		if slices.Contains(c.ErrorEquals, errName) || slices.Contains(c.ErrorEquals, "States.ALL") {
			return c.Next, true
		}
	}
	return "", false
}

// mode is a Map state's processor mode, "" for a state that is no Map.
func (d *Definition) mode(name string) string {
	s := d.States[name]
	if s == nil || s.Processor == nil {
		return ""
	}
	return s.Processor.ProcessorConfig.Mode
}

// WithRetry is a copy of the definition in which a state's Retry rule for an error is r: a
// variant of the definition, to model a change before making it.
func (d *Definition) WithRetry(state, errName string, r Retrier) (*Definition, error) {
	s, ok := d.States[state]
	if !ok {
		return nil, fmt.Errorf("no state %s", state)
	}
	c := *s
	c.Retry = slices.Clone(s.Retry)
	for i, old := range c.Retry {
		if slices.Contains(old.ErrorEquals, errName) {
			r.ErrorEquals = old.ErrorEquals
			c.Retry[i] = r
			out := *d
			out.States = maps.Clone(d.States)
			out.States[state] = &c
			return &out, nil
		}
	}
	return nil, fmt.Errorf("state %s has no Retry rule for %s", state, errName)
}
