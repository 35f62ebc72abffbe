package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"

	"github.com/swarmjob/swarmjob/api"
	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/jobs"
)

func newSubmitCmd(env *cliEnv) *cobra.Command {
	var file, key string
	cmd := &cobra.Command{
		Use:   "submit -f FILE|-",
		Short: "Submit a job described in a YAML or JSON file and print its ID",
		Long: "Submit the job described in FILE (or on stdin with -f -) and print its ID\n" +
			"without waiting. The file holds the body of POST /v1/jobs, in JSON or YAML:\n" +
			"one object with name, labels and the job's spec, such as failurePolicy and\n" +
			"successPolicy, which have no flags in run. Files named .json are JSON and\n" +
			".yaml or .yml are YAML; otherwise a file starting with { is JSON, and any\n" +
			"other YAML. It is read as strictly as the server reads it: unknown fields,\n" +
			"wrong types, duplicate YAML keys and trailing data are errors.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("submit takes its file with -f: swarmjob submit -f %s", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usageErrorf("-f/--file is required: a YAML or JSON job file, or - for stdin")
			}
			req, err := readJobFile(env, file)
			if err != nil {
				return err
			}
			c, err := env.client()
			if err != nil {
				return err
			}
			job, err := createJob(cmd.Context(), env, c, req, key)
			if err != nil {
				return err
			}
			fmt.Fprintln(env.stdout, job.ID)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "YAML or JSON job file, or - for stdin")
	cmd.Flags().StringVar(&key, "idempotency-key", "", "submit at most once per key (24 h): repeating the command with the same key and file prints the job the first one created")
	return cmd
}

// readInput reads the file named name, or stdin when name is "-", whole
// but for at most maxBytes, and returns it with how to name it in
// messages.
func readInput(env *cliEnv, name string, maxBytes int64) (data []byte, label string, err error) {
	r, label := env.stdin, "stdin"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, name, err
		}
		defer f.Close()
		r, label = f, name
	}
	if r == nil {
		r = strings.NewReader("")
	}
	data, err = io.ReadAll(http.MaxBytesReader(nil, io.NopCloser(r), maxBytes))
	if err != nil {
		if isTooLarge(err) {
			return nil, label, fmt.Errorf("%s: must be at most %d bytes", label, maxBytes)
		}
		return nil, label, fmt.Errorf("reading %s: %w", label, err)
	}
	return data, label, nil
}

// readJobFile reads one job request from the file named name, or from
// stdin when name is "-", in JSON or YAML (see jobFileFormat). JSON is
// decoded by the server's own strict decoder, and YAML is converted to JSON
// and then decoded by it, so that the messages are the server's (unknown
// fields, wrong types), prefixed with the file name. The file is bounded
// by the server's body limit.
func readJobFile(env *cliEnv, name string) (types.CreateJobRequest, error) {
	data, label, err := readInput(env, name, api.DefaultMaxBodyBytes)
	if err != nil {
		return types.CreateJobRequest{}, err
	}
	yamlFile := jobFileFormat(name, data) == "yaml"
	if yamlFile {
		if data, err = yamlToJSON(data); err != nil {
			return types.CreateJobRequest{}, fmt.Errorf("%s: %w", label, err)
		}
	}
	req, err := api.DecodeJobRequest(http.MaxBytesReader(nil, io.NopCloser(bytes.NewReader(data)), api.DefaultMaxBodyBytes))
	if err != nil {
		// The decoder speaks of a request body; here it is a file.
		msg := strings.TrimPrefix(jobs.ErrorMessage(err), "request body: ")
		if yamlFile {
			// The decoder read the JSON made from the YAML.
			msg = strings.Replace(msg, "must be a JSON object", "must be an object", 1)
			if strings.Contains(msg, "must be a string, got") {
				msg += "; YAML reads unquoted 8080, 1.5, yes or no as a number or boolean: quote the value"
			}
		}
		return types.CreateJobRequest{}, fmt.Errorf("%s: %s", label, msg)
	}
	return req, nil
}

// jobFileFormat tells whether a job file is "json" or "yaml": by the
// extension of name (.json, .yaml, .yml), else by its content: a file whose
// first character other than white space is "{" is JSON, anything else
// YAML. JSON files are decoded as JSON, not as YAML, so that their errors
// name byte offsets and their duplicate keys behave as on the server.
func jobFileFormat(name string, data []byte) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return "json"
	case ".yaml", ".yml":
		return "yaml"
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 BOM
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] == '{' {
		return "json"
	}
	return "yaml"
}

// yamlToJSON converts a YAML job file to JSON. It refuses what the JSON
// decoder would refuse too: more than one document (trailing data), a
// duplicate key, and an empty document.
func yamlToJSON(data []byte) ([]byte, error) {
	dec := yamlv2.NewDecoder(bytes.NewReader(data))
	var doc any
	docs := 0
	for {
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, yamlError(err)
		}
		if docs++; docs > 1 {
			return nil, errors.New("holds more than one YAML document; submit one job per file")
		}
	}
	out, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, yamlError(err)
	}
	if docs == 0 || bytes.Equal(out, []byte("null")) {
		return nil, errors.New("is empty; a job object is required")
	}
	return out, nil
}

// yamlError is the one-line message of a YAML parser error: "malformed
// YAML: line 2: key "image" already set in map".
func yamlError(err error) error {
	msg := err.Error()
	for _, p := range []string{"error converting YAML to JSON: ", "yaml: ", "unmarshal errors:\n  "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return fmt.Errorf("malformed YAML: %s", strings.ReplaceAll(msg, "\n  ", "; "))
}

func isTooLarge(err error) bool {
	var tooLarge *http.MaxBytesError
	return errors.As(err, &tooLarge)
}
