// The reference Go plugin of the shim benchmarks (bench_test.go): the same work as the
// Python bench plugin there, as a native plugin built with Mattermost's own plugin package,
// so every figure has its native baseline measured in the same run.
package main

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

type refPlugin struct {
	plugin.MattermostPlugin
}

// MessageWillBePosted tags the post: the hook round trip.
func (p *refPlugin) MessageWillBePosted(_ *plugin.Context, post *model.Post) (*model.Post, string) {
	out := post.Clone()
	out.Message += " ok"
	return out, ""
}

// ExecuteCommand "/getuser <n>" makes n GetUser calls (the API round trip); "/pid" answers
// the process id (for the memory figures).
func (p *refPlugin) ExecuteCommand(_ *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	fields := strings.Fields(args.Command)
	if len(fields) == 2 && fields[0] == "/getuser" {
		n, _ := strconv.Atoi(fields[1])
		for range n {
			if _, appErr := p.API.GetUser(args.UserId); appErr != nil {
				return nil, appErr
			}
		}
		return &model.CommandResponse{Text: "done"}, nil
	}
	return &model.CommandResponse{Text: strconv.Itoa(os.Getpid())}, nil
}

// ServeHTTP: POST counts the body (upload), GET /download?size=n sends n bytes (download).
func (p *refPlugin) ServeHTTP(_ *plugin.Context, w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(strconv.FormatInt(n, 10)))
		return
	}
	size, _ := strconv.Atoi(r.URL.Query().Get("size"))
	w.Header().Set("Content-Type", "application/octet-stream")
	block := make([]byte, 64*1024)
	for size > 0 {
		n := min(size, len(block))
		if _, err := w.Write(block[:n]); err != nil {
			return
		}
		size -= n
	}
}

func main() {
	plugin.ClientMain(&refPlugin{})
}
