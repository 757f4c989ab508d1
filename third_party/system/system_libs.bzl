"""A repository of the Debian -dev libraries this project links.

Each target is a cc_library with no sources: the headers are in /usr/include,
which the compiler searches anyway, and pkg-config gives the link lines and
the preprocessor definitions. Asking pkg-config at fetch time, rather than
keeping a hand-written list, keeps abseil's long and version-specific list
of archives right on whatever Debian 12 point release builds this.
"""

# target name -> (pkg-config modules, extra linkopts)
_LIBS = {
    "absl_flags": (["absl_flags", "absl_flags_parse", "absl_flags_usage"], []),
    "absl_random": (["absl_random_random"], []),
    "absl_status": (["absl_status", "absl_statusor"], []),
    "absl_strings": (["absl_strings", "absl_str_format"], []),
    "absl_synchronization": (["absl_synchronization"], []),
    "absl_time": (["absl_time"], []),
    "crypto": (["libcrypto"], []),
    "gmock": (["gmock"], []),
    "grpc": (["grpc++", "protobuf"], ["-lgrpc++_reflection"]),
    "gtest": (["gtest"], []),
    "gtest_main": (["gtest_main"], []),
    "nbd": (["libnbd"], []),
    "prometheus": (["prometheus-cpp-pull", "prometheus-cpp-core"], []),
    "protobuf": (["protobuf"], []),
    "spdlog": (["spdlog"], []),
    "sqlite": (["sqlite3"], []),
    "ssh2": (["libssh2"], []),
    "systemd": (["libsystemd"], []),
}

def _pkg_config(ctx, args):
    result = ctx.execute(["pkg-config"] + args)
    if result.return_code != 0:
        fail("pkg-config %s failed: %s" % (" ".join(args), result.stderr))
    return result.stdout.strip().split(" ") if result.stdout.strip() else []

def _system_libs_impl(ctx):
    lines = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, (modules, extra) in sorted(_LIBS.items()):
        linkopts = extra + _pkg_config(ctx, ["--libs"] + modules)
        defines = [
            flag[2:]
            for flag in _pkg_config(ctx, ["--cflags-only-other"] + modules)
            if flag.startswith("-D")
        ]
        lines.append("cc_library(")
        lines.append("    name = %r," % name)
        lines.append("    defines = %r," % defines)
        lines.append("    linkopts = %r," % linkopts)
        lines.append(")")
        lines.append("")
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("BUILD.bazel", "\n".join(lines))

system_libs = repository_rule(
    implementation = _system_libs_impl,
    local = True,
    doc = "cc_library targets for the system's -dev packages via pkg-config.",
)
