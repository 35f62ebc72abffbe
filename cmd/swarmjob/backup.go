package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/sqlite"
)

// newBackupCmd returns the backup command: a consistent copy of a server's
// store, taken from its data directory while it runs.
func newBackupCmd(env *cliEnv) *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "backup [--data-dir DIR] FILE",
		Short: "Copy the server's store to FILE, consistently, while it runs",
		Long: "backup writes a consistent copy of the store in --data-dir (jobs, attempts,\n" +
			"results, events, tokens, the policy set through the API and the child-token\n" +
			"key) to the new file FILE, mode\n" +
			"0600, while the server runs: the copy is the store as it was at one instant.\n" +
			"It reads the data directory directly, so it runs on the server's machine\n" +
			"as a user who can read it; it needs no token.\n\n" +
			"To restore: stop the server, replace DIR/swarmjob.db with FILE, delete\n" +
			"DIR/swarmjob.db-wal and DIR/swarmjob.db-shm, and start the server. Never run\n" +
			"the original store and a restored copy at once: both own the same services.\n" +
			"The admin token file (DIR/admin-token) is not in the copy.",
		Args: exactlyOne("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sqlite.Backup(cmd.Context(), filepath.Join(dataDir, "swarmjob.db"), args[0]); err != nil {
				return err
			}
			_, err := fmt.Fprintf(env.stdout, "backed up %s to %s\n", filepath.Join(dataDir, "swarmjob.db"), args[0])
			return err
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "./data", "data directory of the server (its --data-dir)")
	return cmd
}
