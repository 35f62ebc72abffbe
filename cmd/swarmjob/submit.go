package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/api"
	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/jobs"
)

func newSubmitCmd(env *cliEnv) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "submit -f FILE|-",
		Short: "Submit a job described in a JSON file and print its ID",
		Long: "Submit the job described in FILE (or on stdin with -f -) and print its ID\n" +
			"without waiting. The file holds the body of POST /v1/jobs: one JSON object\n" +
			"with name, labels and the job's spec, such as failurePolicy and\n" +
			"successPolicy, which have no flags in run. It is read as strictly as the\n" +
			"server reads it: unknown fields and trailing data are errors.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usageErrorf("-f/--file is required: a JSON job file, or - for stdin")
			}
			req, err := readJobFile(env, file)
			if err != nil {
				return err
			}
			c, err := env.client()
			if err != nil {
				return err
			}
			job, err := c.CreateJob(cmd.Context(), req)
			if err != nil {
				return err
			}
			fmt.Fprintln(env.stdout, job.ID)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "JSON job file, or - for stdin")
	return cmd
}

// readJobFile reads one job request from the file named name, or from
// stdin when name is "-". It is decoded by the server's own strict decoder
// and bounded by the server's body limit, so that the messages are the
// server's, prefixed with the file name.
func readJobFile(env *cliEnv, name string) (types.CreateJobRequest, error) {
	var r io.Reader = env.stdin
	label := "stdin"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return types.CreateJobRequest{}, err
		}
		defer f.Close()
		r, label = f, name
	}
	if r == nil {
		r = strings.NewReader("")
	}
	req, err := api.DecodeJobRequest(http.MaxBytesReader(nil, io.NopCloser(r), api.DefaultMaxBodyBytes))
	if err != nil {
		// The decoder speaks of a request body; here it is a file.
		return types.CreateJobRequest{}, fmt.Errorf("%s: %s", label, strings.TrimPrefix(jobs.ErrorMessage(err), "request body: "))
	}
	return req, nil
}
