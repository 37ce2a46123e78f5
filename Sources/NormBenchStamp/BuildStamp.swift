/// The commit the `normbench` executable was built from. `Plugins/BuildStamp`
/// writes `commit` into this module before every build; it is a module of its own
/// so that a new stamp recompiles this file alone and relinks the executable.
public enum BuildStamp {}
