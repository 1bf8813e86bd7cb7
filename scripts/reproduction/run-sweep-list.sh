# Sourced by run-sweeps.sh and run-pretraining.sh: runs each named sweep of the SWEEPS
# associative array (idzip sweep arguments by name) into $OUT/<name> with $IDZIP, keeping
# its log, summary and command.txt (the exact command, times, machine and load).
#   run_sweep_list NAME...
run_sweep_list() {
  local name arguments directory command start begin end
  for name in "$@"; do
    arguments=${SWEEPS[$name]:?unknown sweep $name}
    directory="$OUT/$name"
    mkdir -p "$directory"
    command="idzip sweep $arguments --out $directory"
    echo "== $name: $command"
    start=$(date -u +%Y-%m-%dT%H:%M:%SZ); begin=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$IDZIP" sweep $arguments --out "$directory" 2> >(tee -a "$directory/sweep.log" >&2) | tee "$directory/summary.txt"
    end=$(date +%s.%N)
    printf 'command %s\nstarted %s\nended %s\nwall_seconds %.1f\nmachine %s, %s cores, load average at end %s\n' \
      "$command" "$start" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(awk "BEGIN { print $end - $begin }")" \
      "$(uname -sm)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" > "$directory/command.txt"
  done
}
