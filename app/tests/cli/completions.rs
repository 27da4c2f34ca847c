//! What the commands print, as a shell and a pipe take it: completion
//! scripts that complete (bash, zsh and fish run for real; zsh and fish
//! where installed, see tests/build.rs), a reader that stops early
//! (`| head -1`) as a normal end, and each command's help in its own words.

#![cfg(unix)]

use crate::support;

use std::process::Stdio;
use support::*;

/// What bash offers after `line` (which ends where the cursor is), with
/// the script of `session-auth completions bash` sourced, in a folder
/// holding a file whose name a file-name completion would offer.
fn bash_completes(line: &str) -> Vec<String> {
    let script = run(session_auth(&["completions", "bash"]), QUICK);
    assert!(script.status.success(), "{}", script.describe());
    let dir = data_dir();
    std::fs::write(dir.path().join("completion.sh"), &script.stdout).expect("write the script");
    std::fs::write(dir.path().join("a-file-name"), "").expect("a file");
    // COMP_* as bash sets them for a completion at the end of `line`,
    // then the function `complete -p` names for session-auth.
    let driver = r#"
source ./completion.sh
line="$1"
read -ra COMP_WORDS <<< "$line"
[[ "$line" == *" " ]] && COMP_WORDS+=("")
COMP_LINE="$line"; COMP_POINT=${#line}
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
spec=$(complete -p session-auth) || exit 3
function=$(sed -E 's/.*-F ([^ ]+).*/\1/' <<< "$spec")
"$function" session-auth "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let mut bash = std::process::Command::new("bash");
    bash.args(["--norc", "--noprofile", "-c", driver, "bash", line])
        .current_dir(dir.path())
        .stdin(Stdio::null());
    let finished = run(bash, QUICK);
    assert!(finished.status.success(), "{}", finished.describe());
    finished.stdout.lines().map(str::to_owned).collect()
}

#[test]
fn bash_completes_the_subcommands_and_the_options_of_each_command() {
    let user = bash_completes("session-auth user ");
    for expected in [
        "create",
        "list",
        "show",
        "delete",
        "set-password",
        "grant-admin",
        "revoke-admin",
    ] {
        assert!(user.iter().any(|w| w == expected), "{expected}: {user:?}");
    }
    assert!(
        !user.iter().any(|w| w == "a-file-name"),
        "subcommands, not file names: {user:?}"
    );

    let revoke = bash_completes("session-auth sessions revoke --");
    for expected in ["--user", "--handle", "--data-dir", "--storage"] {
        assert!(
            revoke.iter().any(|w| w == expected),
            "{expected}: {revoke:?}"
        );
    }
    // Only what the command's help shows: not the server's settings.
    assert!(!revoke.iter().any(|w| w == "--api-port"), "{revoke:?}");

    let top = bash_completes("session-auth se");
    assert!(top.iter().any(|w| w == "serve"), "{top:?}");
    assert!(top.iter().any(|w| w == "sessions"), "{top:?}");
}

/// What zsh offers after `line`: the script of `session-auth completions
/// zsh` on `fpath` as `_session-auth`, `compinit`, then `line` typed into an
/// interactive zsh on a pseudo-terminal (zsh/zpty) followed by a Tab, with
/// `compadd` wrapped to print every match it is given.
#[cfg(zsh_tests)]
fn zsh_completes(line: &str) -> Vec<String> {
    let script = run(session_auth(&["completions", "zsh"]), QUICK);
    assert!(script.status.success(), "{}", script.describe());
    let dir = data_dir();
    std::fs::write(dir.path().join("_session-auth"), &script.stdout).expect("write the script");
    let driver = r#"
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd () { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi; typeset -a hits; builtin compadd -A hits "$@"; local r=$?; print -l -- "<M>"${^hits}; return r }'
zpty -w z 'zstyle ":completion:*" menu no; zstyle ":completion:*:default" list-prompt ""; PROMPT=""'
zpty -w z 'print "<READY>"'
zpty -r z ready '*<READY>*' || exit 4
zpty -w -n z "$2"$'\t'
out=""
integer quiet=0
integer deadline=$(( SECONDS + 15 ))
while (( SECONDS < deadline && quiet < 20 )); do
  if zpty -r -t z chunk; then out+=$chunk; quiet=0; else sleep 0.05; [[ -n $out ]] && (( quiet++ )); fi
done
zpty -d z
print -r -- "$out" | grep -a -o '<M>[^[:cntrl:]]*' | sed 's/^<M>//' | sort -u
"#;
    let mut zsh = std::process::Command::new("zsh");
    zsh.args(["-f", "-c", driver, "zsh"])
        .arg(dir.path())
        .arg(line)
        .stdin(Stdio::null());
    let finished = run(zsh, QUICK);
    assert!(finished.status.success(), "{}", finished.describe());
    finished.stdout.lines().map(str::to_owned).collect()
}

/// What fish offers after `line` (`complete -C`), with the script of
/// `session-auth completions fish` sourced.
#[cfg(fish_tests)]
fn fish_completes(line: &str) -> Vec<String> {
    let script = run(session_auth(&["completions", "fish"]), QUICK);
    assert!(script.status.success(), "{}", script.describe());
    let dir = data_dir();
    let path = dir.path().join("session-auth.fish");
    std::fs::write(&path, &script.stdout).expect("write the script");
    let mut fish = std::process::Command::new("fish");
    fish.args(["--no-config", "-c", "source $argv[1]; complete -C $argv[2]"])
        .arg(&path)
        .arg(line)
        .stdin(Stdio::null());
    let finished = run(fish, QUICK);
    assert!(finished.status.success(), "{}", finished.describe());
    // Each line: the word, then a tab and its description.
    finished
        .stdout
        .lines()
        .filter_map(|l| l.split('\t').next())
        .map(str::to_owned)
        .collect()
}

/// The same expectations of every shell: `user`'s subcommands, `revoke`'s
/// options (and not the server's), the commands starting with `se`.
#[cfg(any(zsh_tests, fish_tests))]
fn completes_like_bash(shell: &str, completes: fn(&str) -> Vec<String>) {
    let user = completes("session-auth user ");
    for expected in [
        "create",
        "list",
        "show",
        "delete",
        "set-password",
        "revoke-admin",
    ] {
        assert!(
            user.iter().any(|w| w == expected),
            "{shell}, {expected}: {user:?}"
        );
    }
    let revoke = completes("session-auth sessions revoke --");
    for expected in ["--user", "--handle", "--storage"] {
        assert!(
            revoke.iter().any(|w| w == expected),
            "{shell}, {expected}: {revoke:?}"
        );
    }
    assert!(
        !revoke.iter().any(|w| w == "--api-port"),
        "{shell}: {revoke:?}"
    );
    let top = completes("session-auth se");
    assert!(top.iter().any(|w| w == "serve"), "{shell}: {top:?}");
    assert!(top.iter().any(|w| w == "sessions"), "{shell}: {top:?}");
}

#[cfg(zsh_tests)]
#[test]
fn zsh_completes_the_subcommands_and_the_options_of_each_command() {
    completes_like_bash("zsh", zsh_completes);
}

#[cfg(fish_tests)]
#[test]
fn fish_completes_the_subcommands_and_the_options_of_each_command() {
    completes_like_bash("fish", fish_completes);
}

/// Every command that prints, with its standard output already closed by
/// the reader: it ends as after a full write (exit 0, no panic).
#[test]
fn a_closed_pipe_is_a_normal_end_for_every_command_that_prints() {
    let dir = data_dir();
    let data = dir.path().display().to_string();
    let sqlite = format!("sqlite://{data}/pipe.db?mode=rwc");
    let mut create = session_auth(&[
        "user",
        "create",
        "--email",
        "pipe@example.com",
        "--password-stdin",
    ]);
    create.env("DATA_DIR", &data);
    let created = run_with_input(create, "pw\n", QUICK);
    assert!(created.status.success(), "{}", created.describe());
    let copy_from = dir.path().display().to_string();

    type Run<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>);
    let commands: Vec<Run> = vec![
        (vec!["completions", "bash"], vec![]),
        (vec!["completions", "zsh"], vec![]),
        (vec!["completions", "fish"], vec![]),
        (vec!["--help"], vec![]),
        (vec!["serve", "--help"], vec![]),
        (vec!["--version"], vec![]),
        (vec!["user", "list"], vec![("DATA_DIR", &data)]),
        (
            vec!["user", "show", "pipe@example.com"],
            vec![("DATA_DIR", &data)],
        ),
        (vec!["sessions", "list"], vec![("DATA_DIR", &data)]),
        (vec!["sessions", "prune"], vec![("DATA_DIR", &data)]),
        (
            vec!["user", "grant-admin", "pipe@example.com"],
            vec![("DATA_DIR", &data)],
        ),
        (
            vec!["import", "--from", &copy_from],
            vec![("STORAGE", "sqlite"), ("DATABASE_URL", &sqlite)],
        ),
        (
            vec!["migrate", "--status"],
            vec![("STORAGE", "sqlite"), ("DATABASE_URL", &sqlite)],
        ),
    ];
    for (args, env) in commands {
        let mut command = session_auth(&args);
        command
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the binary runs");
        // The reader is gone before the command writes a byte.
        drop(child.stdout.take());
        let (stderr, thread) = collect(child.stderr.take());
        let status = wait_for_exit(&mut child, QUICK).unwrap_or_else(|| {
            let _ = child.kill();
            panic!("{args:?} did not end")
        });
        let _ = thread.join();
        let stderr = snapshot(&stderr);
        assert!(
            status.success() && !stderr.contains("panicked"),
            "{args:?}: {status:?}\n{stderr}"
        );
    }
}

#[test]
fn each_command_describes_the_storage_settings_in_its_own_words() {
    let help = |args: &[&str]| {
        let finished = run(session_auth(args), QUICK);
        assert!(finished.status.success(), "{}", finished.describe());
        finished.stdout
    };
    for args in [
        &["user", "list", "--help"][..],
        &["user", "create", "--help"],
        &["sessions", "revoke", "--help"],
        &["import", "--help"],
    ] {
        let text = help(args);
        assert!(!text.contains("when the server starts"), "{args:?}: {text}");
        assert!(!text.contains("request answered 503"), "{args:?}: {text}");
        assert!(text.contains("before the command runs"), "{args:?}: {text}");
        assert!(!text.contains("SESSION_CACHE_SIZE"), "{args:?}: {text}");
    }
    // `migrate` applies migrations whatever AUTO_MIGRATE says.
    assert!(!help(&["migrate", "--help"]).contains("AUTO_MIGRATE"));
    // The server keeps its own words.
    assert!(help(&["serve", "--help"]).contains("when the server starts"));
    let revoke = help(&["sessions", "revoke", "--help"]);
    assert!(revoke.contains("--handle"), "{revoke}");
    let delete = help(&["user", "delete", "--help"]);
    assert!(delete.contains("--yes"), "{delete}");
}

#[test]
fn sessions_revoke_needs_a_user_or_a_handle() {
    let finished = run(session_auth(&["sessions", "revoke"]), QUICK);
    assert_eq!(finished.status.code(), Some(2), "{}", finished.describe());
    assert!(
        finished.stderr.contains("--user") && finished.stderr.contains("--handle"),
        "{}",
        finished.describe()
    );
}

#[test]
fn importing_a_folder_with_nothing_to_import_is_an_error() {
    let target = data_dir();
    let target_dir = target.path().display().to_string();
    let import = |from: &std::path::Path| {
        let from = from.display().to_string();
        let mut command = session_auth(&["import", "--from", &from]);
        command.env("DATA_DIR", &target_dir);
        run(command, QUICK)
    };
    let empty = data_dir();
    let refused = import(empty.path());
    assert!(!refused.status.success(), "{}", refused.describe());
    assert!(
        refused.stderr.contains(".db_User.json") && refused.stderr.contains("nothing to import"),
        "{}",
        refused.describe()
    );

    let no_records = data_dir();
    std::fs::write(no_records.path().join(".db_User.json"), "{}").expect("write");
    let refused = import(no_records.path());
    assert!(!refused.status.success(), "{}", refused.describe());
    assert!(
        refused.stderr.contains("no user and no session"),
        "{}",
        refused.describe()
    );
}
