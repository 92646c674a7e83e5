# gitview_repos.bash: builds, with git itself, the repositories the view git is checked on
# (sourced by tests/integration/scan_gitview.sh; run by tests/unit/test_gitview.c as
# `bash gitview_repos.bash DIR`). Needs git; runs it with HOME empty and no system config.
#
#   DIR/main      tracked files matching ignore patterns (docs/INSTALL under INSTALL, a tracked
#                 Cargo.lock under /Cargo.lock), a submodule checked out (mods/sub) and one not
#                 (mods/notout), an untracked nested repository (nested), a regular file named
#                 .git (odd/.git), ignored and untracked files and directories, modified files
#                 (content, mode, a link's target, one written in the second of the index: racy),
#                 tracked files deleted, a tracked directory deleted whole, index version 4
#   DIR/wt        a linked worktree of main, with excludes in the common directory
#   DIR/sparse    a sparse checkout (cone: only a/ and the top's files)
#   DIR/split     a split index (libgit2 1.5 cannot read it: the view refuses it)
#   DIR/sparseidx a sparse index (likewise)
#   DIR/planted   a gitfile naming a git directory outside DIR/planted
#   DIR/norepo    a directory in no repository
#   DIR/outside   where the planted gitfile leads

gitview_git() {
	HOME="$GITVIEW_HOME" GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t \
		GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t git -c protocol.file.allow=always \
		-c init.defaultBranch=main -c advice.detachedHead=false "$@"
}

gitview_make_main() {
	local d=$1
	gitview_git init -q "$d/subsrc"
	(cd "$d/subsrc" && echo s >sfile && mkdir -p sdir && echo t >sdir/t &&
		echo '*.tmp' >.gitignore && gitview_git add . && gitview_git commit -qm sub)
	gitview_git init -q "$d/main"
	cd "$d/main" || return 1
	mkdir -p docs src/deep lib/gone build odd keep
	printf 'INSTALL\n/Cargo.lock\n*.o\n/build/\n!keep.o\n*.log\n' >.gitignore
	echo 'install docs' >docs/INSTALL
	echo '[[package]]' >Cargo.lock
	echo 'int main;' >src/main.c
	echo 'deep' >src/deep/file.c
	echo 'gone' >lib/gone/a
	echo 'gone2' >lib/gone/b
	echo 'lost' >src/lost.c
	echo 'mode' >src/run.sh
	echo 'same size A' >src/racy.c
	echo 'clean racy' >src/clean_racy.c
	echo 'tracked object' >src/tracked.o
	ln -s src/main.c link
	ln -s src/main.c link2
	echo 'x' >keep/keep.o
	gitview_git add .
	gitview_git add -f docs/INSTALL Cargo.lock src/tracked.o
	gitview_git commit -qm main
	gitview_git submodule -q add "$d/subsrc" mods/sub
	gitview_git submodule -q add "$d/subsrc" mods/notout
	gitview_git commit -qm subs
	gitview_git submodule -q deinit -f mods/notout
	# The work tree now differs from the index.
	echo 'changed' >src/main.c
	chmod +x src/run.sh
	ln -sfn src/deep/file.c link2
	rm -f src/lost.c
	rm -rf lib/gone
	echo 'obj' >src/a.o
	echo 'junk' >build/out.bin
	echo 'log' >debug.log
	echo 'new file' >src/new.c
	mkdir -p empty untracked_dir/inner ignored_only
	echo 'u' >untracked_dir/inner/u.txt
	echo 'z' >ignored_only/z.o
	echo 'not a gitfile' >odd/.git
	gitview_git init -q nested
	echo n >nested/nf
	echo 'x.tmp' >mods/sub/x.tmp
	echo 'y' >mods/sub/y
	gitview_git update-index --index-version 4
	# Racy: written in the second the index is, with the same size: only the content tells.
	echo 'clean racy' >src/clean_racy.c && gitview_git update-index src/clean_racy.c
	echo 'same size A' >src/racy.c && gitview_git update-index src/racy.c &&
		echo 'same size B' >src/racy.c
	cd - >/dev/null
}

gitview_make_others() {
	local d=$1
	gitview_git -C "$d/main" worktree add -q "$d/wt" 2>/dev/null
	printf 'wt_excluded\n' >>"$d/main/.git/info/exclude"
	echo 'w' >"$d/wt/wt_excluded"
	echo 'w' >"$d/wt/wt_new"

	gitview_git init -q "$d/sparse"
	(cd "$d/sparse" && mkdir -p a/b c d && for f in a/x a/b/y c/z d/w top; do echo "$f" >"$f"; done &&
		gitview_git add . && gitview_git commit -qm s &&
		gitview_git sparse-checkout set a && echo u >c_untracked)

	gitview_git init -q "$d/split"
	(cd "$d/split" && echo a >a && gitview_git add a && gitview_git commit -qm a &&
		gitview_git update-index --split-index)

	gitview_git init -q "$d/sparseidx"
	(cd "$d/sparseidx" && mkdir a b && echo 1 >a/x && echo 2 >b/y && gitview_git add . &&
		gitview_git commit -qm i && gitview_git sparse-checkout init --cone --sparse-index &&
		gitview_git sparse-checkout set a)

	mkdir -p "$d/outside" "$d/planted/dir" "$d/norepo"
	gitview_git init -q "$d/outside/repo"
	(cd "$d/outside/repo" && echo secret >s && gitview_git add s && gitview_git commit -qm s)
	echo "gitdir: $d/outside/repo/.git" >"$d/planted/.git"
	echo p >"$d/planted/dir/p"
	echo n >"$d/norepo/n"
}

# gitview_make_all DIR: every repository above, under DIR (made empty first).
gitview_make_all() {
	local d=$1
	rm -rf "$d" && mkdir -p "$d/home" || return 1
	d=$(cd "$d" && pwd -P)
	GITVIEW_HOME=$d/home
	gitview_make_main "$d" && gitview_make_others "$d"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	set -e
	gitview_make_all "${1:?usage: gitview_repos.bash DIR}"
fi
