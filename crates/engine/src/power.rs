//! Whether the computer runs on its battery: work nobody asked for (learning while idle) waits
//! for mains power, so that a laptop unplugged at a meeting is not drained by the answer model.
//!
//! Read from Linux's power-supply class (`/sys/class/power_supply/*/{type,online,status,scope}`),
//! which every laptop kernel publishes. Written here rather than with the cross-platform crate
//! for it (`starship-battery`): that crate pins `plist ~1.8` for NetBSD, which would hold the
//! desktop app's own `plist` back a minor version, and brings a units library for one yes or no.
//! Elsewhere (no such directory: macOS, Windows, a desktop or a VM without supplies) the power
//! source is unknown and taken as mains, so nothing changes there.

use std::path::Path;

/// Where Linux publishes its power supplies.
const POWER_SUPPLY_CLASS: &str = "/sys/class/power_supply";

/// The computer runs on battery now: a system battery discharges and no external supply is
/// online.
pub(crate) fn on_battery() -> bool {
    on_battery_in(Path::new(POWER_SUPPLY_CLASS))
}

/// [`on_battery`] over a power-supply class directory laid out as Linux's.
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
