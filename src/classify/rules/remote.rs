//! Remote code execution: downloaded or decoded content run by an interpreter.
//! The checks live where the interpreter is recognised (`unwrap::shell`,
//! `eval`, `source`, `code::check`); this file holds the rules.

rules! {
    PIPE_TO_SHELL = ("remote.pipe_to_shell", Catastrophic, "Runs downloaded or decoded content directly in a shell, unread. Download it to a file, read it, then run it.");
    PIPE_TO_INTERPRETER = ("remote.pipe_to_interpreter", Catastrophic, "Runs downloaded or decoded content directly in an interpreter, unread. Download it to a file and read it first.");
    PROCESS_SUBST = ("remote.process_subst", Catastrophic, "Runs a downloaded script through process substitution, unread. Download it to a file and read it first.");
    EVAL_DOWNLOAD = ("remote.eval_download", Catastrophic, "Evaluates the output of a download or decoder as code, unread. Save the output and read it first.");
}
