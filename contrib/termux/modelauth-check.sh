#!/bin/sh
# modelauth credential check for Termux (Android) and any POSIX shell: runs
# `modelauth models status --check`, and when something needs attention sends the problem lines with
# `termux-notification` (Termux:API), else with $MODELAUTH_NOTIFY_CMD, else prints them.
# With MODELAUTH_PROBE=1 (opt in) it also asks the providers whether the credentials work
# (`models status --probe --probe-max-age 6h`: an unbilled check, each credential at most every 6 h).
# Exit code: modelauth's (0 ok, 1 act now, 2 expiring soon); 3 when modelauth is not found.
# Schedule it: termux-job-scheduler --script ~/bin/modelauth-check.sh --period-ms 1800000
#         or:  */30 * * * * /path/to/modelauth-check.sh   (crontab -e)
MODELAUTH="${MODELAUTH:-modelauth}"
if ! command -v "$MODELAUTH" >/dev/null 2>&1; then
    echo "modelauth-check: $MODELAUTH not found (set MODELAUTH=/path/to/modelauth)" >&2
    exit 3
fi
if [ "${MODELAUTH_PROBE:-0}" = 1 ]; then
    problems=$("$MODELAUTH" models status --probe --probe-max-age 6h --probe-timeout 10s)
else
    problems=$("$MODELAUTH" models status --check --quiet)
fi
code=$?
[ "$code" -eq 0 ] && exit 0
case "$code" in
    2) title="modelauth: a credential expires soon" ;;
    *) title="modelauth: credentials need attention" ;;
esac
if [ -n "$MODELAUTH_NOTIFY_CMD" ]; then
    printf '%s\n%s\n' "$title" "$problems" | sh -c "$MODELAUTH_NOTIFY_CMD"
elif command -v termux-notification >/dev/null 2>&1; then
    termux-notification --id modelauth-check --title "$title" --content "$problems"
else
    printf '%s\n%s\n' "$title" "$problems"
fi
exit "$code"
