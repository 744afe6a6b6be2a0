package mmhost

// The AI agent example (examples/agent) on Mattermost's plugin environment through the shim,
// offline: its OpenAI bot streams an answer from a local OpenAI-compatible server through
// LangChain into a reply post, as examples/agent/tests/test_plugin_e2e.py checks on the dev
// host. The plugin needs the example's dependencies in SHIM_TEST_VENV.

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

const (
	agentID = "com.example.agent"
	// The example, from this package's directory (go test's working directory).
	agentSource  = "../../../examples/agent"
	agentAnswer  = "Hello from the fake model, streamed word by word to the thread"
	agentModel   = "fake-model"
	agentPrompt  = "You are the shim harness's assistant. Answer in one short paragraph."
	openAIBot    = "openai-agent"
	claudeBot    = "claude-agent"
	replyCursor  = "▌" // what a reply shows at its end while it is still streaming
	chunkDelay   = 150 * time.Millisecond
	answerWithin = 60 * time.Second
)

// agentBundle lays out the example as an installed plugin: its manifest (with the shim as
// the server executable), plugin.py and the mm_agent package, without tests or caches.
func agentBundle(t *testing.T) (pluginDir, dir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(agentSource, "plugin.json"))
	must(t, err)
	var manifest map[string]any
	must(t, json.Unmarshal(b, &manifest))
	if manifest["id"] != agentID {
		t.Fatalf("the example's plugin id is %v, not %s", manifest["id"], agentID)
	}
	pluginDir, dir, _ = shimPlugin(t, manifest)
	copyTree(t, filepath.Join(agentSource, "plugin.py"), filepath.Join(dir, "plugin.py"))
	copyTree(t, filepath.Join(agentSource, "mm_agent"), filepath.Join(dir, "mm_agent"))
	return pluginDir, dir
}

// copyTree copies a file, or a directory recursively, leaving out tests and bytecode caches.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	must(t, filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		target := filepath.Join(to, rel)
		if d.IsDir() {
			if path != from && (d.Name() == "tests" || d.Name() == "__pycache__") {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if strings.HasSuffix(d.Name(), ".pyc") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	}))
}

// --- A local OpenAI-compatible server ----------------------------------------------------

type chatMessage struct {
	Role    string `json:"role"`
	Content any    `json:"content"` // text, or a list of parts
}

func (m chatMessage) text() string {
	if s, ok := m.Content.(string); ok {
		return s
	}
	b, _ := json.Marshal(m.Content)
	return string(b)
}

type chatRequest struct {
	Model    string        `json:"model"`
	Stream   bool          `json:"stream"`
	Messages []chatMessage `json:"messages"`
}

// fakeOpenAI answers POST /v1/chat/completions with one scripted answer streamed a word at a
// time (server-sent chat.completion.chunk events, then [DONE]), and records each request and
// when its answer ended.
type fakeOpenAI struct {
	url   string
	words []string
	delay time.Duration

	mu       sync.Mutex
	requests []chatRequest
	finished []time.Time
}

func startFakeOpenAI(t *testing.T, answer string, delay time.Duration) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{words: strings.Fields(answer), delay: delay}
	server := httptest.NewServer(f) // on 127.0.0.1
	t.Cleanup(server.Close)
	f.url = server.URL
	return f
}

// streamTime is how long one answer takes to stream, from its request on.
func (f *fakeOpenAI) streamTime() time.Duration {
	return time.Duration(len(f.words)) * f.delay
}

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	if !req.Stream {
		http.Error(w, "this fake only streams", http.StatusBadRequest)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "no flushing", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	event := func(delta map[string]any, finish any) {
		chunk := map[string]any{
			"id":      "chatcmpl-fake",
			"object":  "chat.completion.chunk",
			"created": time.Now().Unix(),
			"model":   req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
		}
		b, _ := json.Marshal(chunk)
		fmt.Fprintf(w, "data: %s\n\n", b)
		flusher.Flush()
	}
	event(map[string]any{"role": "assistant", "content": ""}, nil)
	for i, word := range f.words {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done(): // the client went away: no answer to finish
			return
		}
		if i < len(f.words)-1 {
			word += " "
		}
		event(map[string]any{"content": word}, nil)
	}
	event(map[string]any{}, "stop")
	fmt.Fprint(w, "data: [DONE]\n\n")
	flusher.Flush()
	f.mu.Lock()
	f.finished = append(f.finished, time.Now())
	f.mu.Unlock()
}

func (f *fakeOpenAI) recorded() ([]chatRequest, []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests), slices.Clone(f.finished)
}

// --- The server's side of the API --------------------------------------------------------

// agentAPI keeps the users, channels and posts the agent works with, and records the posts it
// creates and every update it makes. The embedded fake panics on any other method.
type agentAPI struct {
	*configuredAPI

	mu       sync.Mutex // guards the fields below
	users    map[string]*model.User
	channels map[string]*model.Channel
	posts    map[string]*model.Post
	created  []string            // post ids, as CreatePost made them
	updates  map[string][]string // post id → the messages UpdatePost set, in order
}

func newAgentAPI(config map[string]any) *agentAPI {
	ada := &model.User{Id: adaID, Username: "ada", Email: "ada@example.com", Roles: "system_user"}
	return &agentAPI{
		configuredAPI: &configuredAPI{fakeAPI: &fakeAPI{}, config: config},
		users:         map[string]*model.User{adaID: ada},
		channels:      map[string]*model.Channel{},
		posts:         map[string]*model.Post{},
		updates:       map[string][]string{},
	}
}

func notFound(where, what string) *model.AppError {
	return model.NewAppError(where, "app.shimtest.not_found.app_error", nil, what, http.StatusNotFound)
}

func (a *agentAPI) GetUser(userID string) (*model.User, *model.AppError) {
	a.record("GetUser " + userID)
	a.mu.Lock()
	defer a.mu.Unlock()
	if u, ok := a.users[userID]; ok {
		c := *u
		return &c, nil
	}
	return nil, notFound("GetUser", "id="+userID)
}

func (a *agentAPI) GetUserByUsername(name string) (*model.User, *model.AppError) {
	a.record("GetUserByUsername " + name)
	if u := a.userNamed(name); u != nil {
		return u, nil
	}
	return nil, notFound("GetUserByUsername", "username="+name)
}

func (a *agentAPI) userNamed(name string) *model.User {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, u := range a.users {
		if u.Username == name {
			c := *u
			return &c
		}
	}
	return nil
}

// CreateBot makes the bot's user as the server does: a fresh id, IsBot set.
func (a *agentAPI) CreateBot(bot *model.Bot) (*model.Bot, *model.AppError) {
	a.record("CreateBot " + bot.Username)
	if a.userNamed(bot.Username) != nil {
		return nil, model.NewAppError("CreateBot", "app.user.save.username_exists.app_error", nil, "", http.StatusBadRequest)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	created := *bot
	created.UserId = model.NewId()
	created.CreateAt = model.GetMillis()
	created.UpdateAt = created.CreateAt
	a.users[created.UserId] = &model.User{Id: created.UserId, Username: bot.Username, FirstName: bot.DisplayName, IsBot: true, Roles: "system_user"}
	return &created, nil
}

func (a *agentAPI) GetChannel(channelID string) (*model.Channel, *model.AppError) {
	a.record("GetChannel " + channelID)
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.channels[channelID]; ok {
		cc := *c
		return &cc, nil
	}
	return nil, notFound("GetChannel", "id="+channelID)
}

func (a *agentAPI) addChannel(kind model.ChannelType, name string) *model.Channel {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := &model.Channel{Id: model.NewId(), Type: kind, Name: name, DisplayName: name}
	a.channels[c.Id] = c
	return c
}

// addPost stores a post as the server does before MessageHasBeenPosted.
func (a *agentAPI) addPost(userID, channelID, message string) *model.Post {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := &model.Post{Id: model.NewId(), UserId: userID, ChannelId: channelID, Message: message, CreateAt: model.GetMillis()}
	p.UpdateAt = p.CreateAt
	a.posts[p.Id] = p
	return p.Clone()
}

func (a *agentAPI) CreatePost(post *model.Post) (*model.Post, *model.AppError) {
	a.record("CreatePost")
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.channels[post.ChannelId] == nil || a.users[post.UserId] == nil {
		return nil, model.NewAppError("CreatePost", "app.shimtest.bad_post.app_error", nil,
			fmt.Sprintf("channel %q, user %q", post.ChannelId, post.UserId), http.StatusBadRequest)
	}
	if post.RootId != "" && a.posts[post.RootId] == nil {
		return nil, notFound("CreatePost", "root_id="+post.RootId)
	}
	p := post.Clone()
	p.Id = model.NewId()
	p.CreateAt = model.GetMillis()
	p.UpdateAt = p.CreateAt
	a.posts[p.Id] = p
	a.created = append(a.created, p.Id)
	return p.Clone(), nil
}

func (a *agentAPI) UpdatePost(post *model.Post) (*model.Post, *model.AppError) {
	a.record("UpdatePost")
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.posts[post.Id]
	if !ok {
		return nil, notFound("UpdatePost", "id="+post.Id)
	}
	p = p.Clone()
	p.Message = post.Message
	p.UpdateAt = model.GetMillis()
	p.EditAt = p.UpdateAt
	a.posts[p.Id] = p
	a.updates[p.Id] = append(a.updates[p.Id], p.Message)
	return p.Clone(), nil
}

// GetPostThread is the thread of any of its posts, newest first as the server orders it.
func (a *agentAPI) GetPostThread(postID string) (*model.PostList, *model.AppError) {
	a.record("GetPostThread " + postID)
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.posts[postID]
	if !ok {
		return nil, notFound("GetPostThread", "id="+postID)
	}
	rootID := p.Id
	if p.RootId != "" {
		rootID = p.RootId
	}
	var thread []*model.Post
	for _, q := range a.posts {
		if q.Id == rootID || q.RootId == rootID {
			thread = append(thread, q)
		}
	}
	sort.Slice(thread, func(i, j int) bool { return thread[i].CreateAt > thread[j].CreateAt })
	list := model.NewPostList()
	for _, q := range thread {
		list.AddPost(q.Clone())
		list.AddOrder(q.Id)
	}
	return list, nil
}

// The plugin's log, key-value pairs included, for failure messages.
func (a *agentAPI) LogDebug(msg string, kv ...any) { a.record("LogDebug " + msg + logPairs(kv)) }
func (a *agentAPI) LogInfo(msg string, kv ...any)  { a.record("LogInfo " + msg + logPairs(kv)) }
func (a *agentAPI) LogWarn(msg string, kv ...any)  { a.record("LogWarn " + msg + logPairs(kv)) }
func (a *agentAPI) LogError(msg string, kv ...any) { a.record("LogError " + msg + logPairs(kv)) }

func logPairs(kv []any) string {
	if len(kv) == 0 {
		return ""
	}
	return " " + fmt.Sprint(kv...)
}

// replies are the posts by userID in the thread of rootID.
func (a *agentAPI) replies(rootID, userID string) []*model.Post {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []*model.Post
	for _, p := range a.posts {
		if p.RootId == rootID && p.UserId == userID {
			out = append(out, p.Clone())
		}
	}
	return out
}

func (a *agentAPI) createdPosts() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.created)
}

func (a *agentAPI) updatesOf(postID string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.updates[postID])
}

// --- Processes ---------------------------------------------------------------------------

// descendants are the processes under pid (from /proc: none where there is no /proc).
func descendants(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// After the command's ")" come the state and the parent's pid.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil {
			children[ppid] = append(children[ppid], p)
		}
	}
	var out []int
	for queue := children[pid]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, children[queue[0]]...)
	}
	return out
}

// --- The test ----------------------------------------------------------------------------

func TestAgentExampleOnMattermostsPluginEnvironment(t *testing.T) {
	fake := startFakeOpenAI(t, agentAnswer, chunkDelay)
	pluginDir, _ := agentBundle(t)
	api := newAgentAPI(map[string]any{
		"OpenAIAPIKey":  "sk-test",
		"OpenAIBaseURL": fake.url + "/v1",
		"OpenAIModel":   agentModel,
		"SystemPrompt":  agentPrompt,
	})
	env, logs := bundleEnvironment(t, api, pluginDir)
	t.Cleanup(env.Shutdown) // after a failure too, before bundle's TMPDIR check
	// What the failure messages show: the API calls (the plugin's log among them) and the
	// environment's log (the shim's and Python's lines).
	state := func() string {
		return fmt.Sprintf("API calls:\n  %s\nenvironment log:\n%s", strings.Join(api.Calls(), "\n  "), logs.String())
	}

	before := descendants(os.Getpid())
	start := time.Now()
	if _, activated, err := env.Activate(agentID); err != nil || !activated {
		t.Fatalf("Activate: activated=%v err=%v\n%s", activated, err, state())
	}
	t.Logf("activated in %v", time.Since(start))
	var processes []int
	for _, pid := range descendants(os.Getpid()) {
		if !slices.Contains(before, pid) {
			processes = append(processes, pid)
		}
	}
	// The shim and its Python child, checked gone at the end (where /proc lets us see them).
	if _, err := os.Stat("/proc/self/stat"); err == nil && len(processes) < 2 {
		t.Fatalf("plugin processes after activation: %v, want the shim and its Python child", processes)
	}

	// OnActivate found no bots and created them.
	calls := api.Calls()
	for _, name := range []string{openAIBot, claudeBot} {
		if !slices.Contains(calls, "CreateBot "+name) {
			t.Fatalf("OnActivate did not create @%s\n%s", name, state())
		}
	}
	openai, claude := api.userNamed(openAIBot), api.userNamed(claudeBot)
	hooks, err := env.HooksForPlugin(agentID)
	must(t, err)

	// waitReply polls the thread until the bot's one reply satisfies done.
	waitReply := func(rootID, botID string, done func(string) bool) *model.Post {
		t.Helper()
		deadline := time.Now().Add(answerWithin)
		for {
			replies := api.replies(rootID, botID)
			if len(replies) > 1 {
				t.Fatalf("%d replies by %s in the thread, want one\n%s", len(replies), botID, state())
			}
			if len(replies) == 1 && done(replies[0].Message) {
				return replies[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("no final reply by %s in the thread of %s within %v (replies: %v)\n%s", botID, rootID, answerWithin, replies, state())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// A direct message to the OpenAI bot: the hook returns while the answer is still to come.
	dm := api.addChannel(model.ChannelTypeDirect, model.GetDMNameFromIds(adaID, openai.Id))
	question := api.addPost(adaID, dm.Id, "What can you do?")
	began := time.Now()
	hooks.MessageHasBeenPosted(&plugin.Context{}, question)
	returned := time.Now()
	reply := waitReply(question.Id, openai.Id, func(m string) bool { return m == agentAnswer })
	requests, finished := fake.recorded()
	if len(finished) != 1 {
		t.Fatalf("the fake server finished %d answers, want 1\n%s", len(finished), state())
	}
	// The answer takes streamTime once requested; a hook that waited for it would return after
	// it ended, not most of a stream before.
	if ahead := finished[0].Sub(returned); ahead < fake.streamTime()/2 {
		t.Fatalf("MessageHasBeenPosted returned %v before the answer ended (it streams for %v): it waited for the model", ahead, fake.streamTime())
	}
	t.Logf("MessageHasBeenPosted returned in %v; the answer ended %v later, the reply was final %v after the post",
		returned.Sub(began), finished[0].Sub(returned), time.Since(began))
	if reply.ChannelId != dm.Id || reply.RootId != question.Id {
		t.Fatalf("the reply is not in the question's thread: %+v", reply)
	}

	// It streamed: the reply was updated as the words came, showing the cursor, then final.
	updates := api.updatesOf(reply.Id)
	if len(updates) < 2 || updates[len(updates)-1] != agentAnswer {
		t.Fatalf("the reply's updates (want 2 or more, the last the answer): %q", updates)
	}
	if !slices.ContainsFunc(updates, func(m string) bool { return strings.HasSuffix(m, replyCursor) }) {
		t.Fatalf("no update shows the answer while it streams: %q", updates)
	}
	t.Logf("%d updates of the reply while it streamed", len(updates))

	// The model got the configured model name, the system prompt and the question, named.
	if len(requests) != 1 {
		t.Fatalf("%d requests to the model, want 1", len(requests))
	}
	sent := requests[0]
	var roles []string
	for _, m := range sent.Messages {
		roles = append(roles, m.Role)
	}
	if sent.Model != agentModel || !sent.Stream || !slices.Equal(roles, []string{"system", "user"}) {
		t.Fatalf("the model request: model %q, stream %v, roles %q", sent.Model, sent.Stream, roles)
	}
	if got := sent.Messages[0].text(); got != agentPrompt {
		t.Fatalf("the system prompt sent: %q, want %q", got, agentPrompt)
	}
	if got := sent.Messages[1].text(); !strings.Contains(got, "What can you do?") || !strings.Contains(got, "@ada") {
		t.Fatalf("the question sent: %q", got)
	}

	// Posts that ask nobody: the bot's own reply (the server runs the hook for a plugin's
	// posts too) and a human's post in an open channel mentioning no bot.
	hooks.MessageHasBeenPosted(&plugin.Context{}, reply)
	town := api.addChannel(model.ChannelTypeOpen, "town-square")
	hooks.MessageHasBeenPosted(&plugin.Context{}, api.addPost(adaID, town.Id, "just chatting"))

	// A direct message to the Claude bot, which has no key: it says how to configure one.
	dm = api.addChannel(model.ChannelTypeDirect, model.GetDMNameFromIds(claude.Id, adaID))
	question = api.addPost(adaID, dm.Id, "Are you there?")
	hooks.MessageHasBeenPosted(&plugin.Context{}, question)
	claudeReply := waitReply(question.Id, claude.Id, func(m string) bool { return strings.Contains(m, "Anthropic") })
	if !strings.Contains(claudeReply.Message, "`AnthropicAPIKey`") {
		t.Fatalf("the Claude bot's reply does not name the setting: %q", claudeReply.Message)
	}

	// An answer to either post above would have started with its CreatePost before the Claude
	// bot's (hooks run in order, and an answer's first step is its post), which then needed an
	// update as well: by now only the two replies exist and the model was asked once.
	if created := api.createdPosts(); !slices.Equal(created, []string{reply.Id, claudeReply.Id}) {
		t.Fatalf("posts the plugin created: %q, want only the two replies %q\n%s", created, []string{reply.Id, claudeReply.Id}, state())
	}
	if requests, _ := fake.recorded(); len(requests) != 1 {
		t.Fatalf("%d requests to the model, want the first only", len(requests))
	}

	start = time.Now()
	if !env.Deactivate(agentID) {
		t.Fatalf("Deactivate returned false\n%s", state())
	}
	t.Logf("deactivated in %v", time.Since(start))
	env.Shutdown()
	for _, pid := range processes {
		waitGone(t, pid, 3*time.Second, "a plugin process")
	}
	for _, line := range api.Calls() {
		if strings.HasPrefix(line, "LogError ") {
			t.Errorf("the plugin logged an error: %s", line)
		}
	}
}
