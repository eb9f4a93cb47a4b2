/**
 * Spirit's cache on a host (pure data): what is shipped, how many entries are kept, and the
 * shell script deploy.ts runs there to find, check, verify and prune the cache in one round
 * trip (POSIX sh plus `stat -c`, `sha256sum` or `openssl dgst`, `ls -t`, `grep -E`).
 *
 * Layout: `<root>/runtime/<sha256 of deno>/deno` and `<root>/bundle/<sha256 of bundle>/spirit.js`,
 * where `<root>` is `$XDG_CACHE_HOME/spirit`, else `$HOME/.cache/spirit`, else (neither set)
 * `$TMPDIR/spirit-cache-<uid>` (`/tmp` without TMPDIR). The root must be a directory owned by
 * the user, not a symbolic link (it is made mode 0700); its parent must belong to the user or
 * root and, when others may write to it, carry the sticky bit. Otherwise the script refuses,
 * naming the path.
 *
 * The verified stamp: once a file's content matched its hash, `<file>.verified` records the hash
 * with the file's inode, size, modification and change times (`stat -c '%i %s %y %z'`, to the
 * nanosecond). A later deploy that finds the same stamp takes the file as verified without
 * reading it again (the 95 MB runtime on every host, every run); any change to the file (a
 * write, a replacement, a chmod, `touch`) changes its change time, which no user can set back,
 * so a changed file is always hashed again. Both files live in the user's private cache.
 *
 * Arguments: `$1` mode (`probe` before copying, `finish` after), `$2` runtime
 * sha256, `$3` bundle sha256, `$4`/`$5` whether to hash the runtime/bundle (1) or take them as
 * verified (0), `$6`/`$7` how many runtime/bundle entries to keep, `$8` the machine names
 * (`uname -m`) the runtime runs on, space-separated; optionally `$9` = `then` and a command
 * after it, which a probe that finds both files verified runs at once (`exec`, with
 * `SPIRIT_RUNTIME` and `SPIRIT_BUNDLE` set to their paths, and `SPIRIT_RUNTIME_STAMP` to the
 * runtime's verified stamp when it was checked) after printing a line `then`: its output follows
 * that line. Output: tab-separated lines `arch <name>`
 * (the host is another architecture: nothing else is done), `refuse <message>` (then nothing
 * else), or `root <dir>`, `runtime ok|missing|bad <sha256>`,
 * `bundle ...` and, once both are verified after a copy (mode `finish`), `pruned <dir>` for
 * each old entry removed (the
 * entries in use are touched first, so they are the most recent; entries of the first layout,
 * `<root>/<16 hex digits>/`, once unchanged for two days). A file whose content does not
 * match its hash is deleted.
 * @module
 */

/** Runtimes (Deno binaries, ~95 MB each) kept in a host's cache: the most recently used. */
export const KEEP_RUNTIMES = 3;
/** Host bundles (~1 MB each) kept in a host's cache: the most recently used. */
export const KEEP_BUNDLES = 10;

/** One local file to ship, with its content hash. */
export interface Artifact {
  path: string;
  /** Lower-case hex sha256 of the content. */
  sha256: string;
  bytes: number;
}

/** The runtime and bundle to ship. */
export interface Artifacts {
  runtime: Artifact;
  bundle: Artifact;
}

/** The script; see the module documentation for its arguments and output. */
export const DEPLOY_CACHE_SCRIPT = String.raw`
umask 077
# Each external command is a fork and an exec on every host, every run: as few as can be (the
# user id and the machine from proc files with builtins where the kernel has them).
uid=
while read -r key real effective rest; do
  if [ "$key" = Uid: ]; then uid=$effective; break; fi
done < /proc/self/status
[ -n "$uid" ] || uid=$(id -u)
refuse() { printf 'refuse\t%s\n' "$1"; exit 0; }
if [ -r /proc/sys/kernel/arch ]; then read -r arch < /proc/sys/kernel/arch; else arch=$(uname -m); fi
case " $8 " in
  *" $arch "*) ;;
  *) printf 'arch\t%s\n' "$arch"; exit 0 ;;
esac
case $XDG_CACHE_HOME in
  /*) base=$XDG_CACHE_HOME; root=$base/spirit ;;
  *) case $HOME in
    /*) base=$HOME/.cache; root=$base/spirit ;;
    *) base=$TMPDIR; [ -n "$base" ] || base=/tmp; root=$base/spirit-cache-$uid ;;
  esac ;;
esac
[ -d "$base" ] || mkdir -p -- "$base" 2>/dev/null || refuse "cannot create $base"
runtime_dir=$root/runtime/$2
bundle_dir=$root/bundle/$3
# One stat for all a deploy of a current cache looks at: the base (its trailing slash follows a
# link), the root (not followed) and both cached files. A path missing then (made below) is
# stat'ed on its own.
stats=$(stat -c '%u %a %i %s %y %z|%n' -- "$base/" "$root" "$runtime_dir/deno" \
  "$bundle_dir/spirit.js" 2>/dev/null)
# Sets $found to "uid mode inode size mtime ctime" of $1.
stat_of() {
  found=
  while IFS='|' read -r fields name; do
    if [ "$name" = "$1" ]; then found=$fields; fi
  done <<STATS
$stats
STATS
  [ -n "$found" ] || found=$(stat -c '%u %a %i %s %y %z' -- "$1" 2>/dev/null)
}
stat_of "$base/"
read -r owner mode rest <<EOF
$found
EOF
if [ "$owner" != "$uid" ] && [ "$owner" != 0 ]; then
  refuse "$base is owned by uid $owner (expected uid $uid or root)"
fi
if [ $(( 0$mode & 022 )) -ne 0 ] && [ $(( 0$mode & 01000 )) -eq 0 ]; then
  refuse "$base has mode 0$mode: others may write to it and it has no sticky bit"
fi
[ -e "$root" ] || [ -L "$root" ] || mkdir -m 700 -- "$root" 2>/dev/null
if [ -L "$root" ]; then refuse "$root is a symbolic link"; fi
if [ ! -d "$root" ]; then refuse "$root is not a directory"; fi
stat_of "$root"
read -r owner mode rest <<EOF
$found
EOF
if [ "$owner" != "$uid" ]; then refuse "$root is owned by uid $owner, not by uid $uid"; fi
[ "$mode" = 700 ] || chmod 700 -- "$root" || refuse "cannot make $root private (chmod 700)"
{ [ -d "$runtime_dir" ] && [ -d "$bundle_dir" ]; } || mkdir -p -- "$runtime_dir" "$bundle_dir" ||
  refuse "cannot create cache entries under $root"
digest() {
  if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r -- "$1"
  else sha256sum -- "$1"; fi | { read -r sum rest; printf '%s' "$sum"; }
}
# Sets $seen to the stamp of $1: inode, size, modification and change times.
stamp_of() {
  stat_of "$1"
  read -r _ _ seen <<EOF
$found
EOF
}
# Sets $checked to ok, missing or "bad<TAB><sha256 found>" (no subshell: it runs twice a deploy).
verify() {
  if [ "$3" = 0 ]; then checked=ok; return; fi
  if [ -L "$1" ] || [ ! -f "$1" ]; then rm -f -- "$1" "$1.verified"; checked=missing; return; fi
  stamp_of "$1"
  recorded=
  if [ -f "$1.verified" ]; then IFS= read -r recorded < "$1.verified" || true; fi
  if [ "$recorded" = "$2 $seen" ]; then checked=ok; return; fi
  sum=$(digest "$1")
  if [ "$sum" = "$2" ]; then
    printf '%s %s\n' "$2" "$seen" > "$1.verified"; checked=ok
  else
    rm -f -- "$1" "$1.verified"; checked=$(printf 'bad\t%s' "$sum")
  fi
}
seen=
verify "$runtime_dir/deno" "$2" "$4"; runtime=$checked; runtime_stamp=$seen
verify "$bundle_dir/spirit.js" "$3" "$5"; bundle=$checked
printf 'root\t%s\nruntime\t%s\nbundle\t%s\n' "$root" "$runtime" "$bundle"
if [ "$runtime" != ok ] || [ "$bundle" != ok ]; then exit 0; fi
# chmod changes the ctime (and so the stamp) even when the mode stays: only when needed.
[ -x "$runtime_dir/deno" ] || chmod u+x -- "$runtime_dir/deno"
touch -c -- "$runtime_dir" "$bundle_dir"
# A command to run once the cache is current, in the same round trip (its output follows).
if [ "$1" = probe ] && [ "$9" = then ]; then
  shift 9
  printf 'then\n'
  SPIRIT_RUNTIME=$runtime_dir/deno SPIRIT_RUNTIME_STAMP=$runtime_stamp \
    SPIRIT_BUNDLE=$bundle_dir/spirit.js exec "$@"
fi
# Entries are added only by copies: pruning waits for one (the finish after it).
if [ "$1" != finish ]; then exit 0; fi
prune() {
  ls -1t -- "$1" | grep -E '^[0-9a-f]{64}$' | tail -n +$(( $2 + 1 )) | while read -r entry; do
    rm -rf -- "$1/$entry" && printf 'pruned\t%s\n' "$1/$entry"
  done
}
prune "$root/runtime" "$6"
prune "$root/bundle" "$7"
# Entries of the first layout (one directory per combined hash, 16 hex digits), unchanged for
# two days or more (find -mtime +1): a run of an older spirit may still use a recent one.
ls -1 -- "$root" | grep -E '^[0-9a-f]{16}$' | while read -r old; do
  if [ -n "$(find "$root/$old" -maxdepth 0 -mtime +1)" ]; then
    rm -rf -- "$root/$old" && printf 'pruned\t%s\n' "$root/$old"
  fi
done
exit 0
`;
