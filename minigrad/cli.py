"""The `minigrad` command."""
import argparse
import sys
import time


def gradcheck_command(args):
    from minigrad.opcheck import run_catalogue

    start = time.perf_counter()
    rows = run_catalogue(device=args.device)
    print(f"{'op':<15} {'shapes tried':<44} {'max abs err':>11} {'max rel err':>11}  pass")
    for row in rows:
        shapes = ", ".join(row["shapes"])
        shapes = shapes if len(shapes) <= 44 else shapes[:41] + "..."
        print(f"{row['op']:<15} {shapes:<44} {row['max_abs_error']:>11.2e} {row['max_rel_error']:>11.2e}  "
              f"{'yes' if row['passed'] else 'NO'}")
    failed = [row for row in rows if not row["passed"]]
    for row in failed:
        print(f"\n{row['op']}: {row['error']}")
    print(f"\n{len(rows) - len(failed)}/{len(rows)} ops pass gradcheck on {args.device} "
          f"(float64, central differences, eps 1e-6, atol 1e-5, rtol 1e-3) in {time.perf_counter() - start:.1f} s")
    return 1 if failed else 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="minigrad",
        description="minigrad: a readable autograd engine and the fine-tuning modes of LLMs, side by side.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser("gradcheck", help="check every op's backward against finite differences")
    check.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where to run (default: cpu)")
    check.set_defaults(run=gradcheck_command)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except RuntimeError as error:  # e.g. --device cuda without CuPy: say so without a traceback
        print(f"minigrad: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
