package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/llmgw/llmgw/oauth"
	_ "modernc.org/sqlite" // the database driver; requestlog uses the same
)

// oauthAbout is what 'llmgw oauth -h' says.
const oauthAbout = `Log in to subscription accounts (Claude, ChatGPT/Codex, Gemini) that a
policy's provider(..., oauth = NAME) uses instead of an API key:

  login NAME --kind anthropic|openai|gemini   log in in a browser, store the tokens
  status                                      list the accounts
  refresh NAME                                refresh an account's token now
  logout NAME                                 delete an account's tokens

The tokens are sealed in the database (--db, env LLMGW_DB) with the key in
LLMGW_SECRET_KEY, or else with the key in llmgw.key beside the database
(created 0600 on first use). Run 'llmgw oauth SUBCOMMAND -h' for its flags.`

// runOAuth implements 'llmgw oauth': subscription-account logins.
func runOAuth(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, oauthHelp())
		return exitError{code: 2}
	}
	switch args[0] {
	case "login":
		return oauthLogin(ctx, args[1:], e)
	case "status":
		return oauthStatus(ctx, args[1:], e)
	case "refresh":
		return oauthRefresh(ctx, args[1:], e)
	case "logout":
		return oauthLogout(ctx, args[1:], e)
	case "help", "-h", "-help", "--help":
		return helpRequested{text: oauthHelp() + "\n"}
	}
	return fmt.Errorf("oauth: unknown subcommand %q (login, status, refresh, logout)", args[0])
}

// oauthHelp is the help of 'llmgw oauth' itself.
func oauthHelp() string {
	c, _ := lookupCommand("oauth")
	return "usage: llmgw oauth " + c.synopsis + "\n\n" + c.about
}

// oauthFlags are the flags every subcommand shares.
type oauthFlags struct {
	fs *flag.FlagSet
	db *string
}

func newOAuthFlags(name string, e env) oauthFlags {
	fs := flagSet("oauth "+name, e)
	return oauthFlags{fs: fs, db: envString(fs, e, "db", "LLMGW_DB", "./llmgw.db", "SQLite database `path` (the gateway's --db; with a postgres:// URL, the accounts are in ./llmgw-oauth.db); the key file llmgw.key sits beside it")}
}

// parse parses args, flags and the account name in any order, and returns
// the name (required when wantName).
func (f oauthFlags) parse(args []string, wantName bool) (string, error) {
	var names []string
	for {
		if err := parseFlags(f.fs, args); err != nil {
			return "", err
		}
		if f.fs.NArg() == 0 {
			break
		}
		names = append(names, f.fs.Arg(0))
		args = f.fs.Args()[1:]
	}
	switch {
	case wantName && len(names) != 1:
		return "", fmt.Errorf("%s: want exactly one account NAME", f.fs.Name())
	case !wantName && len(names) != 0:
		return "", fmt.Errorf("%s: unexpected argument %q", f.fs.Name(), names[0])
	case wantName:
		return names[0], nil
	}
	return "", nil
}

// openOAuthStore opens the database and the token store with the key of
// LoadKey. The caller closes the returned database.
//
// With the request log on PostgreSQL (a postgres:// --db), the accounts are
// in the local file oauthDBPath names.
func openOAuthStore(ctx context.Context, dbPath string, e env) (*sql.DB, *oauth.Store, error) {
	dbPath = oauthDBPath(dbPath)
	key, err := oauth.LoadKey(e.getenv, dbPath)
	if err != nil {
		return nil, nil, err
	}
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, nil, fmt.Errorf("oauth: open database: %w", err)
	}
	st, err := oauth.OpenStore(ctx, db, key)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, st, nil
}

func oauthLogin(ctx context.Context, args []string, e env) error {
	f := newOAuthFlags("login", e)
	kind := f.fs.String("kind", "", "provider `kind`: anthropic, openai or gemini")
	var over oauth.Endpoints
	f.fs.StringVar(&over.AuthURL, "auth-url", "", "authorization endpoint `URL` (default: the kind's)")
	f.fs.StringVar(&over.TokenURL, "token-url", "", "token endpoint `URL` (default: the kind's)")
	f.fs.StringVar(&over.ClientID, "client-id", "", "OAuth client `id` (default: the kind's official CLI)")
	f.fs.StringVar(&over.RedirectURL, "redirect-url", "", "redirect `URL`; a loopback URL (port 0 = any) receives the callback")
	scopes := f.fs.String("scopes", "", "space-separated `scopes` (default: the kind's)")
	noBrowser := f.fs.Bool("no-browser", false, "print the URL only; do not open a browser")
	timeout := f.fs.Duration("timeout", 10*time.Minute, "how long to wait for the login")
	name, err := f.parse(args, true)
	if err != nil {
		return err
	}
	ep, ok := oauth.DefaultEndpoints(*kind)
	if !ok {
		return fmt.Errorf("oauth login: --kind must be anthropic, openai or gemini, not %q", *kind)
	}
	over.Scopes = strings.Fields(*scopes)
	ep = ep.Override(over)

	db, st, err := openOAuthStore(ctx, *f.db, e)
	if err != nil {
		return err
	}
	defer db.Close()

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	flow, err := oauth.NewFlow(ep)
	if err != nil {
		return err
	}
	_, wait, err := flow.ListenLoopback(ctx)
	if err != nil && !errors.Is(err, oauth.ErrNoLoopback) {
		return err
	}
	authURL := flow.AuthURL()
	fmt.Fprintf(e.stdout, "Open this URL in a browser to log in account %q (%s):\n\n  %s\n\n", name, *kind, authURL)
	if wait != nil {
		fmt.Fprintln(e.stdout, "Waiting for the browser to come back; or paste the redirect URL or code here:")
	} else {
		fmt.Fprintln(e.stdout, "Then paste the code (or the whole redirect URL) here:")
	}
	if !*noBrowser {
		openBrowser(authURL)
	}
	code, err := awaitCode(ctx, wait, e.stdin)
	if err != nil {
		return err
	}
	a, err := flow.Exchange(ctx, nil, code)
	if err != nil {
		return err
	}
	a.Name, a.Kind = name, *kind
	if err := st.Put(ctx, a); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Logged in %q (%s); token expires %s.\n", name, *kind, formatTime(a.Expiry))
	return nil
}

// awaitCode returns the first of the loopback callback's code (when wait
// is not nil) and a line pasted on stdin. The stdin reader is left
// blocked when the callback wins; the command ends right after.
func awaitCode(ctx context.Context, wait func() (string, error), stdin io.Reader) (string, error) {
	type result struct {
		code string
		err  error
	}
	got := make(chan result, 2)
	if wait != nil {
		go func() { c, err := wait(); got <- result{c, err} }()
	}
	if stdin != nil {
		go func() {
			sc := bufio.NewScanner(stdin)
			for sc.Scan() {
				if line := strings.TrimSpace(sc.Text()); line != "" {
					got <- result{code: line}
					return
				}
			}
			if wait == nil {
				got <- result{err: errors.New("oauth login: no code pasted")}
			}
		}()
	}
	select {
	case r := <-got:
		return r.code, r.err
	case <-ctx.Done():
		return "", fmt.Errorf("oauth login: no callback or pasted code: %w", ctx.Err())
	}
}

// openBrowser tries to show url in the user's browser; failure is fine,
// the URL is printed.
func openBrowser(url string) {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if cmd.Start() == nil {
		go cmd.Wait() // reap it
	}
}

// accountStatus is one row of `llmgw oauth status --json`: never a token.
type accountStatus struct {
	Name        string    `json:"name"`
	Kind        string    `json:"kind"`
	State       string    `json:"state"`
	Expiry      time.Time `json:"expiry"`
	LastRefresh time.Time `json:"last_refresh"`
	Scopes      []string  `json:"scopes"`
	LastError   string    `json:"last_error,omitempty"`
}

func oauthStatus(ctx context.Context, args []string, e env) error {
	f := newOAuthFlags("status", e)
	asJSON := f.fs.Bool("json", false, "print JSON")
	if _, err := f.parse(args, false); err != nil {
		return err
	}
	db, st, err := openOAuthStore(ctx, *f.db, e)
	if err != nil {
		return err
	}
	defer db.Close()
	accounts, err := st.List(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	rows := make([]accountStatus, 0, len(accounts))
	for _, a := range accounts {
		state := oauth.StatusOK
		if a.Status == oauth.StatusFailed {
			state = oauth.StatusFailed
		} else if !a.Expiry.IsZero() && !now.Before(a.Expiry) {
			state = "expired" // refreshed at next use
		}
		rows = append(rows, accountStatus{a.Name, a.Kind, state, a.Expiry, a.LastRefresh, a.Scopes, a.LastError})
	}
	if *asJSON {
		return printJSON(e.stdout, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(e.stdout, "no oauth accounts; log in with 'llmgw oauth login NAME --kind KIND'")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tSTATE\tEXPIRES\tLAST REFRESH\tERROR")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Kind, r.State, formatTime(r.Expiry), formatTime(r.LastRefresh), r.LastError)
	}
	return tw.Flush()
}

func oauthRefresh(ctx context.Context, args []string, e env) error {
	f := newOAuthFlags("refresh", e)
	name, err := f.parse(args, true)
	if err != nil {
		return err
	}
	db, st, err := openOAuthStore(ctx, *f.db, e)
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := oauth.NewManager(st, oauth.ManagerConfig{}).Refresh(ctx, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Refreshed %q; token expires %s.\n", name, formatTime(a.Expiry))
	return nil
}

func oauthLogout(ctx context.Context, args []string, e env) error {
	f := newOAuthFlags("logout", e)
	name, err := f.parse(args, true)
	if err != nil {
		return err
	}
	db, st, err := openOAuthStore(ctx, *f.db, e)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := st.Delete(ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Logged out %q (its tokens are deleted; the provider may still list the session).\n", name)
	return nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
