package main

import "net/url"

// runURL is the address of the Actions run, from the variables the runner
// sets; "" outside Actions or when one is missing. A lock names it, so that
// a second run can link to the run that holds it.
func runURL(getenv func(string) string) string {
	server, repo, id := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID")
	if server == "" || repo == "" || id == "" {
		return ""
	}
	u, err := url.JoinPath(server, repo, "actions", "runs", id)
	if err != nil {
		return ""
	}
	if attempt := getenv("GITHUB_RUN_ATTEMPT"); attempt != "" && attempt != "1" {
		u, _ = url.JoinPath(u, "attempts", attempt)
	}
	return u
}
