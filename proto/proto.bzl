"""Compiles a .proto file with the system's protoc and gRPC plugin."""

def migratekit_proto(name, src, deps = [], grpc = True, visibility = None):
    """A cc_library `name` with the C++ messages (and stubs) of `src`.

    Args:
      name: the cc_library's name.
      src: the .proto file, relative to this package.
      deps: migratekit_proto targets whose files `src` imports.
      grpc: also generate the service stubs.
      visibility: of the cc_library.
    """
    base = src[:-len(".proto")]
    outs = [base + ".pb.h", base + ".pb.cc"]
    if grpc:
        outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]
    plugin = ""
    if grpc:
        plugin = ("--plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin " +
                  "--grpc_out=$(GENDIR) ")
    native.genrule(
        name = name + "_gen",
        srcs = [src] + [d + "_srcs" for d in deps],
        outs = outs,
        cmd = ("protoc -I. -I/usr/include --cpp_out=$(GENDIR) " + plugin +
               "$(location " + src + ")"),
    )
    native.filegroup(
        name = name + "_srcs",
        srcs = [src],
        visibility = ["//visibility:public"],
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        deps = deps + ["@system//:grpc"],
        # Keeps every message's descriptor in the binary even where no code
        # names it, so that server reflection can describe it.
        alwayslink = True,
        visibility = visibility,
    )
