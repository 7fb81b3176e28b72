#!/usr/bin/zsh -f
# What zsh completes for a command line, one candidate a line: an interactive zsh under zpty with
# the completions of folder $1 loads them (compinit), types $2 and TAB; compadd prints what it is
# given (tests/e2e/manpages.sh).
zmodload zsh/zpty || exit 1
zpty z zsh -f -i
zpty -w z "PROMPT= RPROMPT=; fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z 'compadd() { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi; local -a __h; builtin compadd -A __h "$@"; local m; for m in $__h; do print -r -- "<""M>$m"; done; }'
zpty -w z '_end() { print -r -- "<EN""D>"; exit }; comppostfuncs=(_end)'
zpty -w z 'bindkey "^I" complete-word'
zpty -w -n z "$2"$'\t'
local out
zpty -r z out '*<END>*' || exit 1
zpty -d z
print -r -- "$out" | tr -d '\r' | grep -ao '<M>.*' | sed 's/^<M>//'
