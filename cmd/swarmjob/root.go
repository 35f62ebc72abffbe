package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// defaultServer is the server URL used when neither --server nor
// SWARMJOB_URL is set. It matches serve's default --listen address.
const defaultServer = "http://127.0.0.1:8080"

// userAgent identifies the CLI to the server.
const userAgent = "swarmjob-cli"

// cliEnv is what every command receives instead of globals: the process
// environment, the standard streams and the parsed --server flag.
type cliEnv struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// now is the clock used for ages in tables.
	now func() time.Time
	// server is the value of the persistent --server flag; it is set once
	// flags are parsed, so read it only from RunE.
	server string
	// tokenFlag and caCert are the persistent --token and --ca-cert
	// flags, read like server; see token and httpClient.
	tokenFlag string
	caCert    string
}

// client returns an API client for --server. A URL without a scheme, such as
// "127.0.0.1:8080", is taken as http.
func (e *cliEnv) client() (*client.Client, error) {
	u := e.server
	if !strings.Contains(u, "://") {
		u = "http://" + u
	}
	opts := []client.Option{client.WithUserAgent(userAgent)}
	tok, err := e.token()
	if err != nil {
		return nil, err
	}
	if tok != "" {
		opts = append(opts, client.WithToken(tok))
	}
	hc, err := e.httpClient()
	if err != nil {
		return nil, err
	}
	opts = append(opts, client.WithHTTPClient(hc))
	c, err := client.New(u, opts...)
	if err != nil {
		return nil, &usageError{fmt.Errorf("--server: %w", err)}
	}
	return c, nil
}

// errorf reports a problem on stderr in the CLI's one error format.
func (e *cliEnv) errorf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "swarmjob: "+format+"\n", args...)
}

// exitInterrupted is the exit code after SIGINT or SIGTERM, as a shell
// reports a process killed by SIGINT.
const exitInterrupted = 130

// exitError ends the process with code. The command that returns it has
// already written whatever the user needs to see.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError is a mistake in the command line: it exits 2 with a hint to
// the command's help.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// run runs the swarmjob command line args (without the program name). It
// writes every message itself and returns nil on success or an *exitError
// carrying the process exit code: 1 for errors, 2 for usage errors, the
// job's exit code for run and wait, 130 when ctx ends first. stdin is read
// only by submit -f -.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	env := &cliEnv{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}
	root := newRootCmd(env)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee
	}
	var ue *usageError
	if errors.As(err, &ue) {
		if cmd == nil {
			cmd = root
		}
		env.errorf("%v\nRun '%s --help' for usage.", err, cmd.CommandPath())
		return &exitError{code: 2}
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		env.errorf("interrupted")
		return &exitError{code: exitInterrupted}
	}
	if client.IsUnauthorized(err) {
		env.errorf("%v; %s", err, unauthorizedHint)
		return &exitError{code: 1}
	}
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.Code == types.CodePolicyViolation {
		env.errorf("%v; swarmjob policy get --tenant NAME shows your tenant's rules", err)
		return &exitError{code: 1}
	}
	if shortIDRE.MatchString(err.Error()) && client.IsNotFound(err) {
		env.errorf("%v, nor any job whose ID starts with it (swarmjob ls lists them)", err)
		return &exitError{code: 1}
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		env.errorf("%v; is swarmjob serve running at %s? (--server, $SWARMJOB_URL)", err, env.server)
		return &exitError{code: 1}
	}
	env.errorf("%v", err)
	return &exitError{code: 1}
}

// shortIDRE matches the server's not-found message of a job named by what
// looks like the start of a UUID: an abbreviated ID (as docker accepts)
// that resolveJobIDs could not resolve either.
var shortIDRE = regexp.MustCompile(`job "([0-9a-f-]{4,35})" not found`)

// newRootCmd builds the swarmjob command tree around env.
func newRootCmd(env *cliEnv) *cobra.Command {
	root := &cobra.Command{
		Use:   "swarmjob",
		Short: "Run one-shot batch jobs on Docker Swarm",
		Long: "swarmjob runs one-shot batch jobs as Docker Swarm services, keeps their\n" +
			"logs and exit codes, and removes the services once their results are stored.",
		Args: unknownCommand,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
		// run prints errors and usage hints itself, in one format.
		SilenceErrors: true,
		SilenceUsage:  true,
		// cobra's default, which it only sets when it reports unknown
		// commands itself.
		SuggestionsMinimumDistance: 2,
	}
	root.SetOut(env.stdout)
	root.SetErr(env.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })

	server := env.getenv("SWARMJOB_URL")
	if server == "" {
		server = defaultServer
	}
	root.PersistentFlags().StringVar(&env.server, "server", server, "URL of the swarmjob server; $SWARMJOB_URL sets the default")
	// The token never is a flag default: --help would print it.
	root.PersistentFlags().StringVar(&env.tokenFlag, "token", "", "bearer token for the server (visible to other users in ps: prefer $SWARMJOB_TOKEN); default $SWARMJOB_TOKEN, else the file $SWARMJOB_TOKEN_FILE, else ./data/admin-token")
	root.PersistentFlags().StringVar(&env.caCert, "ca-cert", env.getenv("SWARMJOB_CA_CERT"), "PEM file of the CA certificates to trust for an https server; $SWARMJOB_CA_CERT sets the default")

	// Commands on jobs take abbreviated IDs, resolved before they run.
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if cmd.Annotations[annotationJobIDs] == "" {
			return nil
		}
		return resolveJobIDs(cmd.Context(), env, args)
	}
	root.AddCommand(
		newServeCmd(env),
		newRunCmd(env),
		newSubmitCmd(env),
		takesJobIDs(newGetCmd(env)),
		newLsCmd(env),
		takesJobIDs(newLogsCmd(env)),
		takesJobIDs(newResultsCmd(env)),
		takesJobIDs(newWaitCmd(env)),
		takesJobIDs(newCancelCmd(env)),
		takesJobIDs(newSuspendCmd(env)),
		takesJobIDs(newResumeCmd(env)),
		takesJobIDs(newScaleCmd(env)),
		takesJobIDs(newRmCmd(env)),
		newEventsCmd(env),
		newTokenCmd(env),
		newPolicyCmd(env),
		newWatchCmd(env),
		newBackupCmd(env),
	)
	markUsageErrors(root)
	return root
}

// unknownCommand rejects arguments to the root command, which only has
// subcommands.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return errors.New(msg)
}

// markUsageErrors makes the errors of every command's argument validator
// usage errors, so that cobra's and our validators both exit 2.
func markUsageErrors(cmd *cobra.Command) {
	if validate := cmd.Args; validate != nil {
		cmd.Args = func(cmd *cobra.Command, args []string) error {
			if err := validate(cmd, args); err != nil {
				return &usageError{err}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		markUsageErrors(sub)
	}
}

// exactlyOne accepts exactly one positional argument, named what.
func exactlyOne(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("%q requires exactly one %s, got %d arguments", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

// atLeastOne accepts one or more positional arguments, named what.
func atLeastOne(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return fmt.Errorf("%q requires at least one %s", cmd.CommandPath(), what)
		}
		return nil
	}
}
