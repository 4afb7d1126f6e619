//! Whether the computer runs on its battery: work nobody asked for (learning while idle) waits
//! for mains power, so that a laptop unplugged at a meeting is not drained by the answer model.
//!
//! Each system is asked in its own way, as its own tools ask it:
//! - Linux: its power-supply class (`/sys/class/power_supply/*/{type,online,status,scope}`),
//!   which every laptop kernel publishes.
//! - macOS: `pmset -g ps`, whose first line says where the power is drawn from ("Now drawing
//!   from 'Battery Power'"); the tool ships with the system, and is asked at most every few
//!   seconds (the idle loop's tick), a few milliseconds each time.
//! - Windows: `GetSystemPowerStatus` (through `windows-sys`): the AC line offline.
//!
//! Written here rather than with the cross-platform crate for it (`starship-battery`): that
//! crate pins `plist ~1.8` for NetBSD, which would hold the desktop app's own `plist` back a
//! minor version, and brings a units library for one yes or no. Where the answer cannot be had
//! (no power-supply class: a desktop or a VM; `pmset` missing; the call failing) the power
//! source is taken as mains, so nothing changes there. The parsers are tested on every system;
//! the calls themselves only where they run.

use std::path::Path;

/// Where Linux publishes its power supplies.
#[cfg_attr(any(target_os = "macos", windows), allow(dead_code))]
const POWER_SUPPLY_CLASS: &str = "/sys/class/power_supply";

/// The computer runs on battery now: a system battery discharges and no external supply is
/// online.
#[cfg(not(any(target_os = "macos", windows)))]
pub(crate) fn on_battery() -> bool {
    on_battery_in(Path::new(POWER_SUPPLY_CLASS))
}

/// The computer runs on battery now, as `pmset` says.
#[cfg(target_os = "macos")]
pub(crate) fn on_battery() -> bool {
    std::process::Command::new("/usr/bin/pmset")
        .args(["-g", "ps"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .is_ok_and(|out| out.status.success() && pmset_says_battery(&String::from_utf8_lossy(&out.stdout)))
}

/// Whether `pmset -g ps` says the power is drawn from the battery ("Now drawing from 'Battery
/// Power'"; otherwise 'AC Power' or 'UPS Power').
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
fn pmset_says_battery(output: &str) -> bool {
    output.lines().next().is_some_and(|first| first.contains("drawing from") && first.contains("'Battery Power'"))
}

/// The computer runs on battery now, as Windows says.
#[cfg(windows)]
#[allow(unsafe_code)]
pub(crate) fn on_battery() -> bool {
    use windows_sys::Win32::System::Power::{GetSystemPowerStatus, SYSTEM_POWER_STATUS};
    // SAFETY: a struct of integers, which the call fills in.
    let mut status: SYSTEM_POWER_STATUS = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to it for the call's duration.
    if unsafe { GetSystemPowerStatus(&mut status) } == 0 {
        return false;
    }
    ac_line_says_battery(status.ACLineStatus)
}

/// Whether Windows' `ACLineStatus` says the battery powers the computer: 0 offline, 1 online,
/// 255 unknown (taken as mains).
#[cfg_attr(not(windows), allow(dead_code))]
fn ac_line_says_battery(ac_line_status: u8) -> bool {
    ac_line_status == 0
}

/// [`on_battery`] over a power-supply class directory laid out as Linux's.
#[cfg_attr(any(target_os = "macos", windows), allow(dead_code))]
pub(crate) fn on_battery_in(class: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(class) else { return false };
    let read =
        |supply: &Path, attribute: &str| std::fs::read_to_string(supply.join(attribute)).map(|s| s.trim().to_string()).unwrap_or_default();
    let mut discharging = false;
    for entry in entries.flatten() {
        let supply = entry.path();
        match read(&supply, "type").as_str() {
            // A battery of the system, not of a device (a wireless mouse's reports `scope`
            // "Device").
            "Battery" if read(&supply, "scope") != "Device" => discharging |= read(&supply, "status") == "Discharging",
            // An adapter, a USB-C charger or a dock: plugged in, whatever the battery says (a
            // battery under a load heavier than its charger also reads "Discharging").
            "Mains" | "USB" | "USB_C" | "USB_PD" | "USB_PD_DRP" | "Wireless" if read(&supply, "online") == "1" => return false,
            _ => {}
        }
    }
    discharging
}

#[cfg(test)]
mod tests {
    use super::*;

    fn supply(class: &Path, name: &str, attributes: &[(&str, &str)]) {
        let dir = class.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (attribute, value) in attributes {
            std::fs::write(dir.join(attribute), format!("{value}\n")).unwrap();
        }
    }

    #[test]
    fn a_discharging_battery_with_no_adapter_online_is_battery_power() {
        let class = tempfile::tempdir().unwrap();
        assert!(!on_battery_in(&class.path().join("missing")), "no power-supply class: unknown, taken as mains");
        assert!(!on_battery_in(class.path()), "no supplies: a desktop");
        supply(class.path(), "AC", &[("type", "Mains"), ("online", "0")]);
        supply(class.path(), "BAT0", &[("type", "Battery"), ("status", "Discharging"), ("scope", "System")]);
        assert!(on_battery_in(class.path()), "unplugged");
        supply(class.path(), "AC", &[("online", "1")]);
        assert!(!on_battery_in(class.path()), "the adapter is online, whatever the battery says");
        supply(class.path(), "AC", &[("online", "0")]);
        supply(class.path(), "ucsi-source-psy-USBC000:001", &[("type", "USB"), ("online", "1")]);
        assert!(!on_battery_in(class.path()), "charging through USB-C");
    }

    #[test]
    fn macos_and_windows_say_battery_power_in_their_own_words() {
        let battery =
            "Now drawing from 'Battery Power'\n -InternalBattery-0 (id=4653155)\t83%; discharging; 4:12 remaining present: true\n";
        assert!(pmset_says_battery(battery));
        assert!(!pmset_says_battery(
            "Now drawing from 'AC Power'\n -InternalBattery-0 (id=4653155)\t100%; charged; 0:00 remaining present: true\n"
        ));
        assert!(!pmset_says_battery("Now drawing from 'UPS Power'\n"), "a desktop on its UPS is not a laptop to spare");
        assert!(!pmset_says_battery(""), "no answer: taken as mains");
        assert!(!pmset_says_battery(" -InternalBattery-0 'Battery Power'\n"), "only the first line says where power is drawn from");
        assert!(ac_line_says_battery(0));
        assert!(!ac_line_says_battery(1));
        assert!(!ac_line_says_battery(255), "unknown: taken as mains");
    }

    #[test]
    fn a_charging_or_full_battery_and_a_devices_battery_are_not_battery_power() {
        let class = tempfile::tempdir().unwrap();
        supply(class.path(), "BAT0", &[("type", "Battery"), ("status", "Full")]);
        supply(class.path(), "hidpp_battery_0", &[("type", "Battery"), ("status", "Discharging"), ("scope", "Device")]);
        assert!(!on_battery_in(class.path()), "the mouse's battery discharges, the laptop's is full");
        supply(class.path(), "BAT0", &[("status", "Charging")]);
        assert!(!on_battery_in(class.path()));
        supply(class.path(), "BAT1", &[("type", "Battery"), ("status", "Discharging")]);
        assert!(on_battery_in(class.path()), "a second system battery (no scope attribute) discharges");
    }
}
