package api

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/swarmjob/swarmjob/jobs"
)

// FuzzParseQueries feeds arbitrary query strings to the parsers of
// GET /v1/jobs and GET /v1/events. They must never panic, and must reject
// input only with an invalid error that names the parameter at fault.
func FuzzParseQueries(f *testing.F) {
	for _, seed := range []string{
		"",
		"phase=Running&label=team%3Dx%2Cenv!%3Dprod&label=!urgent&namePrefix=n&createdAfter=2026-01-02T03:04:05Z&createdBefore=2026-01-03T00:00:00%2B01:00&order=asc&limit=5&cursor=MQ",
		"label==x", "label=a,,b", "order=up", "createdAfter=yesterday", "limit=0", "phase=done",
		"since=12&job=j1&label=team", "since=-1", "since=99999999999999999999",
	} {
		f.Add(seed)
	}
	params := []string{"phase", "label", "namePrefix", "createdAfter", "createdBefore", "order", "limit", "since", "Last-Event-ID"}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		check := func(err error) {
			if err == nil {
				return
			}
			msg := jobs.ErrorMessage(err)
			if jobs.ErrorCode(err) != jobs.EINVALID {
				t.Fatalf("query %q: error %v is not EINVALID", raw, err)
			}
			for _, p := range params {
				if strings.HasPrefix(msg, p+":") {
					return
				}
			}
			t.Fatalf("query %q: message %q names no parameter", raw, msg)
		}
		_, err = parseListFilter(q)
		check(err)
		r := httptest.NewRequest("GET", "/v1/events", nil)
		r.URL.RawQuery = q.Encode()
		if v := q.Get("lei"); v != "" {
			r.Header.Set("Last-Event-ID", v)
		}
		_, err = parseEventQuery(r)
		check(err)
	})
}
