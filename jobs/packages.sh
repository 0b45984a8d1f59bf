# jobs/packages.sh -- sourced by jobs/example.sh and tests/run.sh: install the Debian 12
# packages the project needs when some are missing (as root; otherwise say what to install).
# usage: nb_install_packages <package>...
nb_install_packages() {
  missing=""
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "installing Debian packages:$missing"
    DEBIAN_FRONTEND=noninteractive apt-get update &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
  else
    echo "missing Debian packages:$missing -- run as root, or: sudo apt-get install$missing" >&2
    return 1
  fi
}
NB_BUILD_PACKAGES="build-essential cmake gzip libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools python3-h5py python3-numpy"
# slurm-wlm (slurmctld, slurmd, clients, the pmix plugin) and munge: the real-Slurm test
NB_TEST_PACKAGES="$NB_BUILD_PACKAGES dials clang libclang-rt-14-dev libomp-dev slurm-wlm munge"
