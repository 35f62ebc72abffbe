package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// newTokenCmd returns the token command and its subcommands, which manage
// the API tokens of the server; they need a token with the admin scope.
func newTokenCmd(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage API tokens (admin)",
		Long: "Create, list and delete the bearer tokens of the server. Each token belongs to a\n" +
			"tenant and has scopes: jobs:read, jobs:write, admin. These commands need a\n" +
			"token with the admin scope, such as the server's <data-dir>/admin-token.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newTokenCreateCmd(env), newTokenLsCmd(env), newTokenRmCmd(env))
	return cmd
}

func newTokenCreateCmd(env *cliEnv) *cobra.Command {
	var req types.CreateTokenRequest
	cmd := &cobra.Command{
		Use:   "create --tenant NAME --scope SCOPE...",
		Short: "Create a token and print it",
		Long: "Create a token for a tenant and print it on stdout, alone, for example\n" +
			"  export SWARMJOB_TOKEN=$(swarmjob token create --tenant a --scope jobs:read --scope jobs:write)\n" +
			"The server keeps only its hash: this is the one time it is shown.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Tenant == "" {
				return usageErrorf("--tenant: is required")
			}
			if len(req.Scopes) == 0 {
				return usageErrorf("--scope: at least one of jobs:read, jobs:write, admin is required")
			}
			c, err := env.client()
			if err != nil {
				return err
			}
			t, err := c.CreateToken(cmd.Context(), req)
			if err != nil {
				return err
			}
			fmt.Fprintln(env.stdout, t.Secret)
			expires := "never expires"
			if t.ExpiresAt != nil {
				expires = "expires " + t.ExpiresAt.Format("2006-01-02T15:04:05Z07:00")
			}
			env.errorf("created token %s for tenant %s (%s; %s); it is shown only this once", t.ID, t.Tenant, strings.Join(t.Scopes, ", "), expires)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Tenant, "tenant", "", "tenant the token acts for (required)")
	f.StringSliceVar(&req.Scopes, "scope", nil, "jobs:read, jobs:write or admin; repeatable (required)")
	f.StringVar(&req.ExpiresIn, "expires-in", "", "lifetime such as 720h or 30d (default: never expires)")
	f.StringVar(&req.Name, "name", "", "a note on what the token is for")
	completeFlagValues(cmd, "scope", types.ScopeJobsRead, types.ScopeJobsWrite, types.ScopeAdmin)
	return cmd
}

func newTokenLsCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List tokens (never their secrets)",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := env.client()
			if err != nil {
				return err
			}
			l, err := c.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(env.stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tTENANT\tSCOPES\tEXPIRES")
			for _, t := range l.Items {
				expires := "never"
				if t.ExpiresAt != nil {
					expires = t.ExpiresAt.Format("2006-01-02T15:04:05Z07:00")
				}
				if t.Expired {
					expires += " (expired)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, dash(t.Name), t.Tenant, strings.Join(t.Scopes, ","), expires)
			}
			return tw.Flush()
		},
	}
}

func newTokenRmCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:     "rm ID...",
		Aliases: []string{"delete"},
		Short:   "Delete tokens; they stop working at once",
		Args:    atLeastOne("token ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return forEachJob(cmd.Context(), env, args, func(ctx context.Context, c *client.Client, id string) error {
				return c.DeleteToken(ctx, id)
			})
		},
	}
}
