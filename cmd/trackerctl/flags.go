package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// Environment variables the common flags default to.
const (
	envTable        = contract.EnvTable
	envRegion       = "AWS_REGION"
	envEndpoint     = "TRACKER_ENDPOINT"
	envEndpointAWS  = "AWS_ENDPOINT_URL_DYNAMODB"
	envProfile      = "AWS_PROFILE"
	envCodes        = contract.EnvStatusCodes
	envMaxRetry     = contract.EnvMaxRetry
	envLeaseSeconds = contract.EnvLeaseSeconds
	envStateMachine = "TRACKER_STATE_MACHINE_ARN"
	envSFNEndpoint  = "AWS_ENDPOINT_URL_SFN"
)

// options are the common flags, checked.
type options struct {
	table, region, endpoint, profile string
	codes                            tracker.StatusCodes
	maxRetry                         int
	lease                            time.Duration
	json                             bool
}

// errHelp is --help on a command.
var errHelp = errors.New("help requested")

// flagSet is a command's flags: its own and the common ones, parsed with flags and
// arguments in any order (a "--" ends the flags).
type flagSet struct {
	*flag.FlagSet
	cmd     *command
	common  map[string]bool
	aliases map[string]string // long name -> short alias
	env     map[string]string // flag name -> environment variables shown in help
	def     map[string]string // flag name -> default shown in help when the flag's own is empty

	table, region, endpoint, profile, codes, maxRetry, leaseSeconds, output string
}

func newFlagSet(c *command, a *app) *flagSet {
	fs := &flagSet{
		FlagSet: flag.NewFlagSet(c.name, flag.ContinueOnError),
		cmd:     c, common: map[string]bool{}, aliases: map[string]string{},
		env: map[string]string{}, def: map[string]string{},
	}
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	endpoint := a.getenv(envEndpoint)
	if endpoint == "" {
		endpoint = a.getenv(envEndpointAWS)
	}
	for _, f := range []struct {
		dst              *string
		name, env        string
		value, def, help string
	}{
		{&fs.table, "table", envTable, a.getenv(envTable), "", "the tracker's DynamoDB `table`"},
		{&fs.region, "region", envRegion, a.getenv(envRegion), "", "AWS `region`"},
		{&fs.endpoint, "endpoint", envEndpoint + ", " + envEndpointAWS, endpoint, "", "DynamoDB endpoint `URL`, e.g. http://localhost:8000 for DynamoDB Local"},
		{&fs.profile, "profile", envProfile, a.getenv(envProfile), "", "AWS shared config `profile`"},
		{&fs.codes, "status-codes", envCodes, a.getenv(envCodes), tracker.DefaultStatusCodes.String(), "status `codes` of todo,in_progress,failed,succeeded,ignored"},
		{&fs.maxRetry, "max-retry", envMaxRetry, a.getenv(envMaxRetry), strconv.Itoa(tracker.DefaultMaxRetry), "`N` failed attempts make a task ignored"},
		{&fs.leaseSeconds, "lease-seconds", envLeaseSeconds, a.getenv(envLeaseSeconds), strconv.Itoa(int(tracker.DefaultLeaseDuration / time.Second)), "lease duration in `seconds`"},
	} {
		fs.StringVar(f.dst, f.name, f.value, f.help)
		fs.common[f.name] = true
		fs.env[f.name] = f.env
		fs.def[f.name] = f.def
	}
	fs.StringVar(&fs.output, "output", "text", "output `format`: text or json")
	fs.common["output"] = true
	fs.alias("output", "o")
	if c.flags != nil {
		c.flags(fs)
	}
	return fs
}

// alias registers short as another name of the flag long.
func (fs *flagSet) alias(long, short string) {
	f := fs.Lookup(long)
	fs.Var(f.Value, short, f.Usage)
	fs.aliases[long] = short
	if fs.common[long] {
		fs.common[short] = true
	}
}

// parse parses args, letting flags and positional arguments mix, and returns the positional
// arguments.
func (fs *flagSet) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usagef("%s (see trackerctl %s --help)", flagError(err), fs.cmd.name)
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// flagError rewords the flag package's errors with double-dash names.
func flagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return "unknown flag " + dashes(name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return "flag " + dashes(name) + " needs a value"
	}
	if i := strings.Index(msg, " for flag -"); i >= 0 {
		rest := msg[i+len(" for flag -"):]
		name, why, _ := strings.Cut(rest, ": ")
		return fmt.Sprintf("%s for flag %s: %s", msg[:i], dashes("-"+name), why)
	}
	return msg
}

func dashes(name string) string {
	name = strings.TrimLeft(name, "-")
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// setOptions checks the common flags and stores them in a.opts.
func (a *app) setOptions(fs *flagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	// source names where a bad value came from: the flag if given, else its variable.
	source := func(flagName, envName string) string {
		if set[flagName] {
			return "--" + flagName
		}
		return envName
	}
	o := options{table: fs.table, region: fs.region, endpoint: fs.endpoint, profile: fs.profile, codes: tracker.DefaultStatusCodes}
	switch fs.output {
	case "text":
	case "json":
		o.json = true
	default:
		return usagef("--output %q: want text or json", fs.output)
	}
	if o.endpoint != "" {
		u, err := url.Parse(o.endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			src := "--endpoint"
			if !set["endpoint"] {
				src = envEndpoint + " or " + envEndpointAWS
			}
			return usagef("%s %q is not an http(s) URL like http://localhost:8000", src, o.endpoint)
		}
	}
	// The tracker settings are read with the functions' own codec, so they accept and refuse
	// the same values; the error names the flag when one was given.
	var settings contract.Settings
	given := []struct{ flag, env, text string }{
		{"status-codes", envCodes, fs.codes}, {"max-retry", envMaxRetry, fs.maxRetry}, {"lease-seconds", envLeaseSeconds, fs.leaseSeconds},
	}
	flagOf := map[string]string{}
	for _, f := range given {
		if f.text == "" {
			continue
		}
		flagOf[f.env] = source(f.flag, f.env)
		var se *contract.SettingError
		if err := settings.Set(f.env, f.text); errors.As(err, &se) {
			return usagef("%s=%q %s", flagOf[f.env], f.text, se.Reason)
		} else if err != nil {
			return err
		}
	}
	// The ranges are the functions' too (contract.Settings.Validate); the rules between
	// settings that trackerctl does not take (a worker's timeout) hold at their defaults.
	var se *contract.SettingError
	if err := (contract.Settings{Codes: settings.Codes, MaxRetry: settings.MaxRetry, LaneType: contract.LaneStandard,
		LeaseDuration: settings.LeaseDuration, WorkerTimeout: time.Second}).Validate(); errors.As(err, &se) && flagOf[se.Name] != "" {
		return usagef("%s=%q %s", flagOf[se.Name], se.Value, se.Reason)
	}
	if settings.Codes != (tracker.StatusCodes{}) {
		o.codes = settings.Codes
	}
	o.maxRetry, o.lease = settings.MaxRetry, settings.LeaseDuration
	a.opts = o
	return nil
}

// commandUsage prints a command's help.
func (a *app) commandUsage(w io.Writer, c *command, fs *flagSet) {
	fmt.Fprintf(w, "Usage: trackerctl %s [flags] %s\n\n%s\n", c.name, c.args, strings.TrimSpace(c.help))
	var own bool
	fs.VisitAll(func(f *flag.Flag) { own = own || !fs.common[f.Name] })
	if own {
		fmt.Fprint(w, "\nFlags:\n")
		fs.printFlags(w, false)
	}
	fmt.Fprint(w, "\nCommon flags:\n")
	fs.printFlags(w, true)
}

// printFlags prints the common flags or the command's own.
func (fs *flagSet) printFlags(w io.Writer, common bool) {
	short := map[string]bool{}
	for _, s := range fs.aliases {
		short[s] = true
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		if fs.common[f.Name] != common || short[f.Name] {
			return
		}
		name, usage := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if s, ok := fs.aliases[f.Name]; ok {
			left = "-" + s + ", " + left
		}
		if name != "" {
			left += " " + name
		}
		var notes []string
		if env := fs.env[f.Name]; env != "" {
			notes = append(notes, "env "+env)
		}
		switch def := f.DefValue; {
		case def != "" && def != "false" && def != "0":
			notes = append(notes, "default "+def)
		case fs.def[f.Name] != "":
			notes = append(notes, "default "+fs.def[f.Name])
		}
		if len(notes) > 0 {
			usage += " (" + strings.Join(notes, "; ") + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", left, usage)
	})
	tw.Flush()
}

// statusList is a flag holding status names, repeated or comma-separated.
type statusList []tracker.Status

func (l *statusList) String() string {
	names := make([]string, len(*l))
	for i, s := range *l {
		names[i] = s.String()
	}
	return strings.Join(names, ",")
}

func (l *statusList) Set(v string) error {
	for _, name := range strings.Split(v, ",") {
		s, err := tracker.ParseStatus(name)
		if err != nil {
			return fmt.Errorf("unknown status %q (want todo, in_progress, failed, succeeded or ignored)", strings.TrimSpace(name))
		}
		*l = append(*l, s)
	}
	return nil
}

// seconds is a duration flag that also reads a bare number as seconds.
type seconds struct{ d *time.Duration }

func (s seconds) String() string {
	if s.d == nil {
		return ""
	}
	return s.d.String()
}

func (s seconds) Set(v string) error {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		*s.d = time.Duration(n * float64(time.Second))
	} else if *s.d, err = time.ParseDuration(v); err != nil {
		return errors.New("want seconds (5) or a duration (1m30s)")
	}
	if *s.d <= 0 {
		return errors.New("must be positive")
	}
	return nil
}
