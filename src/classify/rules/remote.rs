//! Remote code execution: downloaded or decoded content run by an interpreter.
//! The checks live where the interpreter is recognised (`unwrap::shell`,
//! `eval`, `source`, `code::check`); this file holds the rules.

rules! {
    PIPE_TO_SHELL = ("remote.pipe_to_shell", Catastrophic, "Runs downloaded or decoded content directly in a shell.");
    PIPE_TO_INTERPRETER = ("remote.pipe_to_interpreter", Catastrophic, "Runs downloaded or decoded content directly in an interpreter.");
    PROCESS_SUBST = ("remote.process_subst", Catastrophic, "Runs a downloaded script through process substitution.");
    EVAL_DOWNLOAD = ("remote.eval_download", Catastrophic, "Evaluates the output of a download or decoder as code.");
}
