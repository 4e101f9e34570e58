# outside-packages.sh, sourced by a spike's run.sh (from the repository's root): a package the project does not
# use, installed once into var/cache/<name> (git ignores var/) and put on the path of this measurement alone,
# never into the project's environment.

outside_packages() { # outside_packages NAME REQUIREMENT...
  local target="var/cache/$1"
  shift
  local uv
  uv="$(command -v uv || echo var/cache/tools/bin/uv)"
  if [ ! -f "$target/.installed" ]; then
    "$uv" pip install --quiet --python .venv/bin/python --target "$target" "$@"
    touch "$target/.installed"
  fi
  export PYTHONPATH="$PWD/$target"
}
