"""Vocabulary of the Northwind Support knowledge base (written for this lab, CC0).

Ten product lines of a fictional hardware and software company. Passages are written in
a support engineer's technical register; the `lay` texts are how a customer would ask,
with none of the passage's content words (generate.py checks that), so that keyword
matching cannot find them and only a model of meaning can.

Per category:
  short      what the product is, in two words (it appears in every title)
  products   five fictional product names
  code       format of its fault codes
  causes     technical causes a fault code can stand for
  keys       configuration parameters: (name, what it sets, default, unit)
  topics     (technical passage with {p} for the product, lay question)
  parts      spare part names
  rare       one special-situation note per product (technical, lay), the tail of that
             product's long field-service passage
"""

from __future__ import annotations

ACTIONS = (
    "Power-cycle the unit and review the event log.",
    "Run the setup assistant again.",
    "Restore factory defaults if the condition persists.",
    "Replace the interconnect cable and verify the negotiated link.",
    "Install the latest firmware build.",
    "Escalate to second-level service with the diagnostic bundle attached.",
    "Collect a diagnostic bundle and open a service case.",
    "Verify the configuration against the installation checklist.",
)

CATEGORIES: dict[str, dict] = {
    "router": {
        "short": "Wi-Fi router",
        "noun": "Wi-Fi 6 router",
        "overview": "{p} is a dual-band Wi-Fi 6 router with four gigabit LAN ports, WPA3 security and mesh "
                    "expansion through satellite nodes.",
        "products": ("Halden AX6", "Halden AX9", "Tessera R300", "Corvid Wave 5", "Brightline H12"),
        "code": "W-{n}",
        "causes": (
            "the DHCP lease from the upstream gateway expired and renewal failed",
            "the radio detected radar on a DFS channel and vacated it",
            "the WAN port negotiated 10 Mbit/s half duplex",
            "the NAT session table reached its limit",
            "the configuration backup failed its checksum",
            "the mesh backhaul link fell below the minimum RSSI",
            "the DNS resolver timed out on all configured forwarders",
            "the firmware image signature could not be verified",
            "PPPoE authentication was rejected by the access concentrator",
            "the internal temperature sensor exceeded its threshold",
        ),
        "keys": (
            ("wan.mtu_bytes", "the maximum transmission unit on the WAN interface", "1500", "bytes"),
            ("dhcp.lease_minutes", "the lease duration handed to LAN clients", "1440", "minutes"),
            ("radio.dfs_enabled", "whether DFS channels may be selected automatically", "true", ""),
            ("nat.max_sessions", "the size of the NAT session table", "16384", "entries"),
            ("mesh.backhaul_band", "the band reserved for satellite backhaul", "5g-high", ""),
            ("dns.forwarders", "the upstream resolvers queried by the DNS proxy", "isp", ""),
            ("log.remote_syslog", "the syslog collector that receives the event log", "none", ""),
            ("qos.upstream_kbps", "the shaped upstream rate for smart queue management", "0", "kbit/s"),
        ),
        "topics": (
            ("Wireless throughput is poor in distant rooms: when clients are separated from the {p} by "
             "several walls, the 5 GHz band degrades sharply. Enable band steering and place satellite "
             "nodes within line of sight.",
             "internet is really slow in the bedroom at the far end of the house"),
            ("Legacy IoT gadgets such as sensors and sockets, limited to 2.4 GHz and WPA2, cannot "
             "associate while the {p} broadcasts a "
             "WPA3-only SSID. Create a separate SSID in WPA2/WPA3 transition mode.",
             "my older smart plugs refuse to pair since we upgraded the wifi"),
            ("Video calls stutter while large uploads saturate the uplink queue. Enable smart queue "
             "management on the {p} and shape upstream to 90 percent of the measured line rate.",
             "zoom meetings freeze whenever somebody is sending big files"),
            ("Parental control schedules on the {p} are evaluated in UTC unless a time zone is configured "
             "under System > Time, so blocks begin early or late.",
             "the kids bedtime block kicks in an hour too soon"),
            ("Inbound connections from outside fail when the {p} sits behind carrier-grade NAT: opening "
             "ports on the router has no effect. Request a public IPv4 address from the provider or open an IPv6 pinhole.",
             "friends can't join the game server I host even though I set up forwarding"),
            ("An amber pulsing status LED on the {p} indicates operation from the fallback firmware "
             "partition after an interrupted update.",
             "the little light on the front keeps blinking orange"),
            ("Guest SSID clients are isolated from local printers and media renderers by design. Disable "
             "client isolation for that SSID on the {p} to permit casting.",
             "visitors can't throw videos onto our telly"),
            ("Mesh satellite nodes paired with the {p} disconnect intermittently after an automatic channel "
             "change. Pin the backhaul to a fixed channel in the upper 5 GHz band.",
             "the add-on wifi extenders dotted around the house keep going offline for a while"),
        ),
        "parts": ("external antenna set", "12 V power adapter", "wall-mount bracket"),
        "rare": (
            ("Installations above 3,000 metres altitude: the passive heatsink of the {p} loses efficiency "
             "in thin air, so derate transmit power by 3 dB and keep ambient temperature below 30 degrees "
             "Celsius.",
             "we live high up in the mountains and the thing gets hot"),
            ("Marine installations: salt spray corrodes the antenna connectors of the {p} when it is "
             "mounted aboard a vessel; apply dielectric grease and fit the IP67 enclosure kit.",
             "using it on our sailboat and the aerial plugs are going rusty"),
            ("Co-location with medical telemetry: wards with patient monitors may require the {p} to avoid "
             "channels 149 to 165; enable the restricted channel plan.",
             "putting one in a clinic right next to heart monitoring gear"),
            ("Operation from a 12 V vehicle supply: the {p} accepts 9 to 16 V DC through the barrel jack; "
             "use an isolating converter to suppress ignition transients.",
             "can I run it off the battery in my camper van"),
            ("Lightning protection: outdoor cable runs to the {p} need a surge arrester bonded to earth at "
             "the building entry point.",
             "thunderstorms fry it because the wire comes down from the roof"),
        ),
    },
    "printer": {
        "short": "laser printer",
        "noun": "monochrome laser printer",
        "overview": "{p} is a monochrome laser printer for small offices with duplex printing, a 250-sheet "
                    "tray and Ethernet and USB connectivity.",
        "products": ("Inkwell P420", "Inkwell P460dn", "Marlow L2", "Quillon 7100", "Sable MX40"),
        "code": "P{n}",
        "causes": (
            "the fuser did not reach operating temperature within the warm-up window",
            "the transfer roller resistance is outside tolerance",
            "the laser scanner motor failed to lock its speed",
            "the toner cartridge chip could not be authenticated",
            "media was detected at the registration sensor during standby",
            "the duplex unit is not seated",
            "the drum unit reached its rated page count",
            "the main board lost communication with the engine controller",
            "the exit sensor remained actuated after the job completed",
            "the high-voltage power supply reported an overcurrent",
        ),
        "keys": (
            ("print.density_level", "toner density applied to text and graphics", "3", "steps"),
            ("tray1.media_type", "the media profile assumed for tray 1", "plain", ""),
            ("power.sleep_minutes", "idle time before the engine enters sleep", "15", "minutes"),
            ("net.ipp_enabled", "whether the IPP service accepts jobs", "true", ""),
            ("duplex.default", "whether jobs are printed on both sides by default", "false", ""),
            ("fuser.mode", "the fuser temperature profile", "normal", ""),
            ("security.pin_release", "whether held jobs require a PIN at the panel", "false", ""),
            ("scan.smb_share", "the SMB destination used by scan-to-folder", "none", ""),
        ),
        "topics": (
            ("Ghosting, a faint repeated image 94 mm below the original, on the {p} points to a worn fuser "
             "sleeve or an incorrect media type setting.",
             "each sheet shows a pale copy of the text further down"),
            ("Toner that smears when rubbed indicates insufficient fusing on the {p}. Select the heavy "
             "media profile for cardstock and verify fuser temperature.",
             "the words wipe off when I touch the paper"),
            ("Accordion jams at the output bin of the {p} occur with curled stock. Store media flat in its "
             "wrapper and flip the ream before loading.",
             "pages come out crumpled like a fan"),
            ("Completely blank output from the {p} usually means the sealing strip was left on a new "
             "cartridge or the transfer roller is not engaged.",
             "it spits out empty white sheets with nothing on them"),
            ("The {p} rejects scans to a network folder when SMB1 is disabled on the file server. Enable "
             "SMB3 and sign-in with a domain account.",
             "scanning to the shared drive on our office computer stopped"),
            ("Vertical grey streaks along every page of the {p} come from a scratched drum surface or "
             "debris on the laser window.",
             "dark lines run from top to bottom on everything"),
            ("Print jobs stuck in the queue of the {p} after a driver change need the universal PCL6 driver; the "
             "legacy PostScript driver stalls on spooler version 4.",
             "files I send to the printer sit waiting forever and never come out"),
            ("A grinding noise from the {p} during warm-up indicates a worn drive gear in the fuser "
             "assembly; replace the gear kit.",
             "a horrible crunching sound from the printer when I switch it on in the morning"),
        ),
        "parts": ("fuser assembly", "transfer roller kit", "pickup roller set"),
        "rare": (
            ("Humid tropical sites: above 80 percent relative humidity, media stored next to the {p} absorbs "
             "moisture and jams; keep reams in sealed cabinets with desiccant.",
             "our shop is in a sticky steamy climate and sheets get stuck"),
            ("Printing security cheques: the {p} requires MICR toner and the magnetic ink calibration page "
             "before bank-grade documents are produced.",
             "we want to print our own checks for paying suppliers"),
            ("Ozone in enclosed rooms: the {p} emits trace ozone during long runs; install the carbon "
             "filter and ensure four air changes per hour.",
             "there's a weird sharp smell in the tiny copy room after big jobs"),
            ("Use on standby generators: voltage sags during fuser heating can reset the {p}; connect "
             "it through a line-interactive UPS rated 1,500 VA.",
             "the printer reboots whenever the diesel backup kicks in"),
            ("Label stock with exposed adhesive must not pass through the {p}; glue deposits on the fuser "
             "sleeve cause permanent damage.",
             "can I run sticker sheets through it"),
        ),
    },
    "nas": {
        "short": "network storage",
        "noun": "network-attached storage appliance",
        "overview": "{p} is a four-bay network-attached storage appliance with RAID, snapshots and "
                    "encrypted offsite replication.",
        "products": ("Vaultline N4", "Vaultline N8", "Stratum S2", "Keepbox K4", "Ardent Store 6"),
        "code": "S-{n}",
        "causes": (
            "a member disk returned unrecoverable read errors during scrubbing",
            "the RAID array entered degraded mode",
            "the snapshot reserve is exhausted",
            "replication to the offsite target failed authentication",
            "the volume encryption key could not be unlocked at boot",
            "the SMART self-test reported reallocated sectors above threshold",
            "the UPS signalled low battery and a shutdown was scheduled",
            "the metadata journal replay did not complete",
            "a quota limit was reached on a shared folder",
            "the cooling fan tachometer reported zero rpm",
        ),
        "keys": (
            ("raid.rebuild_priority", "how much I/O the array rebuild may consume", "medium", ""),
            ("snapshot.retention_days", "how long hourly snapshots are retained", "30", "days"),
            ("smb.min_protocol", "the oldest SMB dialect accepted by the file service", "smb2", ""),
            ("repl.bandwidth_limit", "the cap on replication traffic", "0", "kbit/s"),
            ("disk.spindown_minutes", "idle time before disks spin down", "20", "minutes"),
            ("scrub.schedule", "when data scrubbing runs", "monthly", ""),
            ("ups.shutdown_percent", "the battery level that triggers a clean shutdown", "20", "percent"),
            ("quota.soft_limit_gb", "the per-share soft quota", "0", "GB"),
        ),
        "topics": (
            ("Array rebuild on the {p} after a disk replacement takes about 4 hours per terabyte; rebuild "
             "priority high shortens it at the cost of client throughput.",
             "I swapped a dead hard drive in the storage box and it's been repairing itself all day"),
            ("Apple Time Machine backups to the {p} require the share to be exported over SMB3 with the "
             "fruit extension and a capped folder size.",
             "backing up my MacBook to the storage box stopped working"),
            ("Files deleted from a share on the {p} can be restored from the hidden snapshot folder, "
             "provided retention has not expired.",
             "I accidentally threw away a bunch of stuff last week, can I get it back"),
            ("Write throughput on the {p} collapses when SMR drives are mixed into a RAID 5 array; use CMR "
             "drives for all members.",
             "copying stuff onto it crawls after I added a cheap disk"),
            ("Ransomware protection on the {p}: immutable snapshots cannot be modified or purged before "
             "their lock period ends, even by administrators.",
             "how do I stop hackers from scrambling everything I keep on it"),
            ("Fan noise from the {p} rises when the disk temperature exceeds 45 degrees Celsius; relocate "
             "the unit to a ventilated shelf.",
             "it sounds like a jet engine in the cupboard"),
            ("Plex transcoding on the {p} falls back to software decoding for HEVC 10-bit sources, which "
             "saturates the processor.",
             "films stutter when my family streams them on the television"),
            ("Remote access to the {p} through a relay service is limited to 1 MB/s; configure a direct "
             "port or VPN for full speed.",
             "getting to my home files while travelling is painfully sluggish"),
        ),
        "parts": ("drive caddy", "system fan module", "power supply unit"),
        "rare": (
            ("Earthquake zones: secure the {p} to the rack rail with the seismic bracket kit; spinning "
             "disks must be parked before aftershock inspections.",
             "we get tremors here, should I tie the box down"),
            ("Deployment in vehicles: the {p} is not rated for vibration above 0.5 G; use solid-state "
             "drives and the shock-mount kit in mobile studios.",
             "we want it in our touring bus for the band recordings"),
            ("Legal hold and regulatory retention: the {p} can lock a share in WORM compliance mode so "
             "records cannot be altered or removed until the retention period ends; once enabled the mode "
             "cannot be reverted.",
             "our attorneys say nothing may be erased for a decade"),
            ("Cold storage rooms: below 5 degrees Celsius condensation forms inside the {p} on start-up; let "
             "it acclimatise for two hours before power-on.",
             "it lives in an unheated garage over winter"),
            ("Radiation environments: near imaging equipment the {p} may see elevated bit-flip rates; "
             "enable ECC memory scrubbing and checksummed volumes.",
             "keeping it in the x-ray department at the hospital"),
        ),
    },
    "thermostat": {
        "short": "thermostat",
        "noun": "smart thermostat",
        "overview": "{p} is a smart thermostat for gas boilers and heat pumps with OpenTherm, geofencing and "
                    "a seven-day schedule.",
        "products": ("Ember T2", "Ember T3 Pro", "Calora Nest 5", "Hearth One", "Tempra Q9"),
        "code": "H{n}",
        "causes": (
            "the OpenTherm bus reported a boiler lockout",
            "the wired room sensor returned an open circuit",
            "the heat pump did not acknowledge the demand signal",
            "the common wire supply dropped below 20 V AC",
            "the outdoor temperature feed is stale",
            "the schedule store failed its integrity check",
            "the relay contact welded closed",
            "the hot water cylinder probe is out of range",
            "the geofence service could not be reached",
            "the flow temperature exceeded the configured maximum",
        ),
        "keys": (
            ("heat.max_flow_c", "the highest flow temperature requested", "70", "degrees Celsius"),
            ("eco.setback_c", "the setback applied while the home is empty", "3", "degrees Celsius"),
            ("sensor.offset_c", "the calibration offset of the built-in sensor", "0", "degrees Celsius"),
            ("schedule.preheat_minutes", "how early heating starts before a scheduled period", "30",
             "minutes"),
            ("frost.protect_c", "the minimum temperature kept in frost protection", "7", "degrees Celsius"),
            ("hp.min_runtime_minutes", "the minimum compressor run time", "10", "minutes"),
            ("dhw.boost_minutes", "the duration of a hot water boost", "60", "minutes"),
            ("geo.radius_m", "the geofence radius", "500", "metres"),
        ),
        "topics": (
            ("Short cycling: if the boiler fires for under three minutes at a time, raise the minimum "
             "runtime on the {p} and reduce the flow temperature.",
             "the heating keeps switching itself on and off constantly"),
            ("The displayed temperature on the {p} reads high when the unit is mounted above a radiator or "
             "in direct sunlight; apply a sensor offset or relocate it.",
             "it says the room is warm but we're all freezing"),
            ("Geofencing on the {p} detects that everyone has left only when background location "
             "permission is granted on every household member's phone; one missing device keeps the home in occupied mode.",
             "it doesn't notice when we've all gone out"),
            ("Underfloor heating circuits respond slowly; enable predictive start on the {p} so the slab "
             "reaches setpoint by the scheduled time.",
             "the floor is still cold when we get up"),
            ("Heat pump defrost cycles pause heating for up to ten minutes; the {p} shows the defrost "
             "icon and should not be overridden.",
             "on frosty days the warmth just stops for a while"),
            ("Battery-powered remote temperature sensors paired with the {p} report every 15 minutes; "
             "readings older than an hour are ignored, so a sensor with a flat cell no longer influences "
             "heating.",
             "the little wireless thermometer in the nursery seems to make no difference"),
            ("Hot water boost on the {p} overrides the cylinder schedule for a fixed period; it does not "
             "change the programmed times.",
             "I need an extra shower's worth tonight without messing up the plan"),
            ("After a power cut the {p} restores its schedule but clock synchronisation needs network "
             "time; until then it follows the last known program.",
             "after the blackout it's warming the house at the wrong hours"),
        ),
        "parts": ("wall backplate", "wired room sensor", "OpenTherm bridge module"),
        "rare": (
            ("Listed buildings: where drilling is not permitted, the {p} can be fitted to the freestanding "
             "table stand with a wireless relay at the boiler.",
             "our house is historic and we can't put holes in the plaster"),
            ("Pool heat pumps: the {p} controls pool water temperature only through the auxiliary relay and "
             "needs the pool sensor accessory.",
             "can it warm the swimming area in our backyard for the kids"),
            ("Greenhouses: the {p} tolerates humidity up to 95 percent non-condensing when installed in the "
             "sealed enclosure; frost protection should be set to 5 degrees Celsius.",
             "I grow tomatoes in a glass shed and want it to stay toasty"),
            ("Holiday homes left unoccupied for months: configure the {p} for frost protection so "
             "plumbing does not freeze and burst, with remote alerts on low battery and lost connectivity.",
             "the cottage sits empty all winter, will the pipes be okay"),
            ("Pet mode: the {p} can hold a minimum comfort temperature while the home is empty so that "
             "animals left indoors stay warm.",
             "the dog is alone in the house all day in the cold"),
        ),
    },
    "sync": {
        "short": "sync app",
        "noun": "file synchronisation client",
        "overview": "{p} is a desktop file synchronisation client for Windows and macOS with selective sync, "
                    "version history and end-to-end encryption.",
        "products": ("Driftwood Sync", "Driftwood Sync Teams", "Cloudberry Desktop", "Ferry Drive",
                     "Nimbus Harbor"),
        "code": "0x{h}",
        "causes": (
            "the local path exceeds the 260 character limit",
            "the access token expired and silent renewal failed",
            "a file is locked by another process",
            "the server rejected the upload because of a checksum mismatch",
            "the selective sync database is corrupt",
            "the account storage quota is exceeded",
            "the file name contains characters reserved by the operating system",
            "the proxy requires authentication that the client cannot supply",
            "the client clock is skewed by more than five minutes",
            "the end-to-end encryption key bundle could not be decrypted",
        ),
        "keys": (
            ("sync.max_upload_kbps", "the cap on upload bandwidth", "0", "kbit/s"),
            ("sync.ignore_patterns", "the glob patterns excluded from synchronisation", "*.tmp", ""),
            ("proxy.mode", "how the client discovers its proxy", "system", ""),
            ("cache.max_gb", "the size of the offline cache", "10", "GB"),
            ("log.level", "the verbosity of client logs", "info", ""),
            ("conflict.policy", "how concurrent edits are resolved", "keep-both", ""),
            ("vfs.placeholders", "whether files are downloaded on demand", "true", ""),
            ("update.channel", "the release channel for client updates", "stable", ""),
        ),
        "topics": (
            ("When two devices edit the same file offline, {p} keeps both versions and appends the device "
             "name to the conflicting copy.",
             "there are now duplicates of my essay, one labelled with my laptop"),
            ("Files-on-demand placeholders in {p} show a cloud icon and download only when opened, so "
             "without connectivity they cannot be read; pin folders to keep them available offline.",
             "on the plane my documents wouldn't open with no wifi"),
            ("{p} pauses synchronisation on metered networks, such as cellular data or a shared phone "
             "connection, by default; toggle the metered connection "
             "override in preferences.",
             "nothing uploads while I'm tethered to my mobile hotspot"),
            ("Restoring an earlier version: {p} retains 100 revisions per file for 180 days in version "
             "history.",
             "I saved over my spreadsheet by mistake, how do I go back to yesterday's"),
            ("High processor usage and fan noise while {p} performs the initial indexing of large "
             "libraries is expected; indexing "
             "throttles after the first full scan.",
             "my laptop gets hot and loud since I set up the cloud folder app"),
            ("Shared folders appear in {p} only after the invitation is accepted in the web console; "
             "pending invitations are not synchronised.",
             "a colleague gave me access but I can't see anything"),
            ("Antivirus real-time scanning can lock files that {p} is uploading; add the client "
             "executable to the scanner's exclusions.",
             "the security software and the backup tool keep fighting"),
            ("Moving the synchronisation root of {p} to an external volume requires unlinking and "
             "relinking the account.",
             "I want all my stuff on a USB stick instead of the main disk"),
        ),
        "parts": ("hardware security key", "enterprise licence pack", "onboarding voucher"),
        "rare": (
            ("Air-gapped networks: {p} can run against an on-premises relay with offline licence "
             "activation; telemetry must be disabled by policy.",
             "our research computers have to stay totally disconnected from the internet"),
            ("Satellite links with latency above 600 ms: raise the request timeout of {p} to 120 seconds "
             "and disable delta uploads.",
             "I work from a ship with a dish for getting online"),
            ("Litigation export: {p} can produce a chain-of-custody archive of a user's files with hash "
             "manifests for legal discovery.",
             "a court wants every document an employee ever had"),
            ("Video production media: {p} should exclude render caches and proxy files, which change "
             "constantly and waste bandwidth.",
             "I edit movies and my upload takes forever"),
            ("Departing employees: transfer ownership of their shared folders in {p} before the account is "
             "deprovisioned, or collaborators lose access.",
             "a coworker resigned and now nobody can get at what they used to share with us"),
        ),
    },
    "payments": {
        "short": "payments API",
        "noun": "payments API",
        "overview": "{p} is a REST payments API for card and bank transfers with idempotent requests, "
                    "webhooks and a hosted checkout.",
        "products": ("Ledgerly API", "Ledgerly Checkout", "Tallyhub Pay", "Coinpost Gateway", "Remit One"),
        "code": "ERR_{n}",
        "causes": (
            "the idempotency key was reused with a different request body",
            "the card issuer declined the authorisation",
            "the webhook endpoint returned a non-2xx status repeatedly",
            "the API key does not have the required scope",
            "the request signature timestamp is outside the tolerance window",
            "3-D Secure authentication was abandoned by the cardholder",
            "the currency is not enabled for the merchant account",
            "the refund amount exceeds the captured amount",
            "the rate limit for the endpoint was exceeded",
            "the payout bank account failed verification",
        ),
        "keys": (
            ("webhook.retry_hours", "how long failed webhooks are retried", "72", "hours"),
            ("auth.capture_delay_days", "the delay before authorised payments are captured", "7", "days"),
            ("api.version", "the API version pinned for the account", "2024-06", ""),
            ("payout.schedule", "how often balances are paid out", "daily", ""),
            ("radar.block_threshold", "the risk score above which payments are blocked", "75", "points"),
            ("checkout.locale", "the default language of the hosted checkout", "auto", ""),
            ("idempotency.ttl_hours", "how long idempotency keys are remembered", "24", "hours"),
            ("sca.exemption", "the strong customer authentication exemption requested", "none", ""),
        ),
        "topics": (
            ("Duplicate charges after a network timeout are prevented in {p} by sending an "
             "Idempotency-Key header; a retried request with the same key returns the original response "
             "instead of charging the card again.",
             "a customer got billed twice when our site timed out"),
            ("Webhook verification failures in {p}: the HMAC must be computed over the raw "
             "request body; parsing JSON before verification alters whitespace, so genuine events look "
             "tampered.",
             "our backend says the signature on your notifications is invalid"),
            ("Card holds placed with {p} lapse after seven days: an authorisation that is not captured "
             "expires, so a hotel deposit taken in advance must be captured before expiry or "
             "re-authorised.",
             "the money we reserved at booking vanished before the guest arrived"),
            ("Partial refunds in {p} are issued against the original charge; multiple partial refunds may "
             "not exceed the captured amount.",
             "giving a shopper back part of what they paid"),
            ("Sandbox transactions in {p} succeed without transferring any funds: test mode keys begin with "
             "a test prefix and never move real currency; live keys require "
             "account activation.",
             "no actual money shows up even though buying seemed to work"),
            ("Chargebacks and disputes in {p}, raised when a cardholder claims goods were not received, "
             "must be answered with evidence within the network deadline, typically 21 "
             "days, or they are lost automatically.",
             "a buyer told their bank they never got the order"),
            ("Currency conversion in {p} applies the rate at capture time, not authorisation time, for "
             "cross-border cards.",
             "the amount in euros changed between ordering and billing"),
            ("Payouts from {p} are delayed for new accounts by a seven-day rolling reserve during the risk "
             "review period.",
             "when will I finally receive my earnings as a seller who just joined"),
        ),
        "parts": ("card reader terminal", "receipt printer", "terminal charging dock"),
        "rare": (
            ("Charitable donations: {p} supports tax receipts and recurring gifts for registered charities "
             "with a reduced fee tier on application.",
             "we're a nonprofit taking contributions from supporters"),
            ("Marketplace split payments: {p} can route one charge to several connected accounts with "
             "application fees deducted at source.",
             "sellers on our platform each want their own share of an order"),
            ("Cannabis and other restricted goods are prohibited on {p}; accounts processing them are "
             "closed and funds held for 180 days.",
             "can we sell weed products legally through you"),
            ("Offline card acceptance: {p} terminals can store up to 100 transactions when connectivity is "
             "lost and forward them later, at the merchant's risk.",
             "taking payments at festivals from our food truck where there's no reception"),
            ("Sanctions screening: {p} holds international payouts to beneficiaries on consolidated sanctions lists and "
             "may request enhanced due diligence.",
             "a transfer to a supplier overseas got frozen for a compliance check"),
        ),
    },
    "headset": {
        "short": "headset",
        "noun": "wireless headset",
        "overview": "{p} is a wireless over-ear headset with active noise cancellation, multipoint Bluetooth "
                    "and a USB dongle for conferencing.",
        "products": ("Aria Pro 2", "Aria Lite", "Echoform H7", "Sonnet Wave", "Tandem Buds X"),
        "code": "A{n}",
        "causes": (
            "the Bluetooth link key is missing for the paired host",
            "the battery cell voltage dropped below the cut-off",
            "the dongle firmware version does not match the headset",
            "the microphone array failed its self-test",
            "the charging circuit detected an over-temperature condition",
            "the multipoint table is full",
            "the noise cancellation processor did not boot",
            "the codec negotiation fell back to SBC",
            "the touch panel reported a stuck sensor",
            "the firmware update was interrupted",
        ),
        "keys": (
            ("anc.level", "the strength of active noise cancellation", "high", ""),
            ("mic.sidetone", "how much of the wearer's voice is fed back", "low", ""),
            ("bt.multipoint", "whether two hosts can stay connected", "true", ""),
            ("power.auto_off_minutes", "the idle time before power-off", "30", "minutes"),
            ("codec.preferred", "the preferred Bluetooth audio codec", "aac", ""),
            ("eq.preset", "the equaliser preset", "balanced", ""),
            ("voice.prompts", "whether spoken prompts are played", "true", ""),
            ("wear.sensor", "whether playback pauses when the headset is removed", "true", ""),
        ),
        "topics": (
            ("Call audio on the {p} switches to the hands-free profile, which limits bandwidth to 16 kHz; "
             "music sounds muffled while the microphone is active.",
             "songs sound awful and tinny while I'm chatting on the phone"),
            ("Remote participants hear an echo of their own voice when sidetone and the host's audio "
             "enhancements are both active; "
             "disable enhancements for the {p}.",
             "folks on the far side of the conversation get their own words bounced back"),
            ("Audio lags video on the {p} with the SBC codec; enable AAC or the low-latency dongle to "
             "keep lip sync.",
             "mouths move before the voices on netflix"),
            ("Ear cushions of the {p} compress after about 18 months, which reduces passive isolation and "
             "bass response; replace the cushion set.",
             "the pads went flat and squashed"),
            ("Wind noise triggers the feedforward microphones of the {p}; enable wind reduction mode in "
             "the companion app.",
             "a loud whooshing when I cycle outside"),
            ("The {p} ships in storage mode; connect it to a charger for five seconds to wake the battery "
             "before first use.",
             "brand new out of the box and it's completely dead"),
            ("Multipoint on the {p} keeps two hosts, such as a laptop and a phone, connected at once; an "
             "incoming call interrupts playback from the laptop.",
             "can I listen from my computer and still pick up my mobile at the same time"),
            ("Pressure discomfort with strong noise cancellation is common; lower the ANC level on the {p} "
             "or use the adaptive mode.",
             "my ears feel weird like on an aeroplane"),
        ),
        "parts": ("ear cushion set", "USB conferencing dongle", "charging case"),
        "rare": (
            ("Users with hearing aids or cochlear implants: the {p} supports telecoil coupling through the neck loop accessory; "
             "disable ANC to avoid feedback whistle.",
             "my grandmother is partially deaf and wears little amplifiers behind her ears"),
            ("Aviation: the {p} is not certified for cockpit use; passive attenuation is insufficient for "
             "piston aircraft noise above 100 dB.",
             "can I have them on while flying my little plane"),
            ("Sweat and sport: the {p} is rated IPX4; rinse the cushions with fresh water after gym use "
             "and dry before charging.",
             "I drip a lot during workouts"),
            ("Cold climates: below minus 10 degrees Celsius the battery of the {p} delivers about half its "
             "rated runtime; keep it inside a jacket when idle.",
             "they die quickly when I'm out skiing"),
            ("Sleep use: the {p} is unsuitable for side sleeping; the headband pressure may cause pain and "
             "the hinge can crack.",
             "I want them on my head in bed all night"),
        ),
    },
    "dock": {
        "short": "docking station",
        "noun": "USB-C docking station",
        "overview": "{p} is a USB-C and Thunderbolt docking station with dual display outputs, 100 W power "
                    "delivery and 2.5 gigabit Ethernet.",
        "products": ("Portwise D3", "Portwise D5 Max", "Linkbay T4", "Harbor Hub 11", "Quay Station Q2"),
        "code": "D-{n}",
        "causes": (
            "the host did not complete the power delivery contract",
            "the DisplayPort link training failed",
            "the Thunderbolt security level blocked the device",
            "the Ethernet controller firmware is out of date",
            "the DisplayLink driver is not installed",
            "the upstream cable is not rated for 40 Gbit/s",
            "the dock firmware update was rolled back",
            "the thermal sensor reported over-temperature",
            "the USB hub exceeded its power budget",
            "the MAC address pass-through is not supported by the host",
        ),
        "keys": (
            ("pd.max_watts", "the maximum charging power offered to the host", "100", "watts"),
            ("dp.mst_enabled", "whether multi-stream transport is used", "true", ""),
            ("eth.mac_passthrough", "whether the host's MAC address is cloned", "false", ""),
            ("usb.power_share", "whether ports charge devices when the host sleeps", "true", ""),
            ("fw.auto_update", "whether firmware updates install automatically", "true", ""),
            ("led.brightness", "the brightness of the status LED", "50", "percent"),
            ("wake.on_lan", "whether the Ethernet port wakes the host", "false", ""),
            ("audio.output", "which jack receives audio", "auto", ""),
        ),
        "topics": (
            ("macOS does not support multi-stream transport, so two displays on the {p} mirror each other "
             "unless DisplayLink is used.",
             "both my monitors show exactly the same picture on my MacBook"),
            ("Monitors attached to the {p} flicker or blank out briefly when the cable exceeds 2 metres at 4K 60 Hz; use a "
             "certified high bit-rate cable.",
             "my external display keeps going black for a second when plugged into the laptop dock"),
            ("The {p} delivers 100 W only to hosts that negotiate 20 V; laptops drawing 130 W charge slowly "
             "under load.",
             "my gaming notebook loses battery even when plugged in"),
            ("Peripherals on the {p} disconnect when the host enters modern standby; disable USB selective "
             "suspend in power settings.",
             "mouse and keyboard stop responding after lunch"),
            ("Wired networking through the {p} fails after sleep on some hosts; update the Ethernet "
             "controller firmware.",
             "after waking up my computer has no web access through the cable"),
            ("The {p} runs warm during heavy data transfers; ensure 5 cm of clearance around vents.",
             "the box is too hot to touch"),
            ("Audio over the {p} headset jack is disabled when a display with speakers is detected; select "
             "the output device manually.",
             "sound comes out of the wrong place"),
            ("BIOS settings must allow pre-boot USB support for keyboards on the {p} to work at the "
             "encryption prompt.",
             "I can't type my password at startup"),
        ),
        "parts": ("USB-C host cable", "power brick", "vertical stand"),
        "rare": (
            ("Medical carts: the {p} must be powered through an isolation transformer when used within the "
             "patient environment.",
             "we roll the computer between hospital beds"),
            ("Trading desks with eight displays: chain two {p} units through separate host ports; a single "
             "unit drives at most two 4K panels.",
             "I need lots of screens for the stock market"),
            ("Kiosk mode: the {p} can lock its ports to keyboard and card reader classes to prevent "
             "unauthorised devices in public terminals.",
             "people at the library plug random things into our shared PCs"),
            ("Mac Studio and other desktops do not draw power from the {p}; power delivery can be disabled "
             "to reduce heat.",
             "my tower PC plugs into the wall anyway, can I switch off the laptop charging through the dock"),
            ("Ham radio operators report broadband noise near the {p}; clip-on ferrites on the host cable "
             "reduce interference.",
             "my shortwave transceiver hisses when the laptop hub is on"),
        ),
    },
    "camera": {
        "short": "security camera",
        "noun": "security camera",
        "overview": "{p} is an outdoor security camera with 4K video, infrared night vision, person detection "
                    "and local microSD recording.",
        "products": ("Sentry C4", "Sentry C6 Dome", "Lookout 360", "Watchfield W2", "Argus Cam Pro"),
        "code": "C{n}",
        "causes": (
            "the microSD card is write-protected",
            "the RTSP stream exceeded the encoder bitrate",
            "the PoE switch supplied less than 12.95 W",
            "the infrared illuminator current is out of range",
            "the cloud recording subscription lapsed",
            "the lens heater failed",
            "motion detection zones are empty",
            "the NTP server is unreachable",
            "the image sensor returned a blank frame",
            "the device certificate expired",
        ),
        "keys": (
            ("video.bitrate_kbps", "the encoder bitrate", "8000", "kbit/s"),
            ("ir.mode", "when infrared illumination switches on", "auto", ""),
            ("motion.sensitivity", "the motion detection sensitivity", "60", "percent"),
            ("record.retention_days", "how long recordings are kept", "14", "days"),
            ("privacy.mask", "the regions blacked out of recordings", "none", ""),
            ("audio.record", "whether audio is recorded", "false", ""),
            ("ntp.server", "the time server", "pool", ""),
            ("onvif.enabled", "whether ONVIF clients may connect", "true", ""),
        ),
        "topics": (
            ("Spider webs reflect infrared light and trigger false motion events on the {p} at night; "
             "clean the housing and narrow the detection zone.",
             "it keeps pinging my phone after dark about insects"),
            ("The {p} switches to monochrome when ambient light falls below 1 lux; the infrared filter "
             "clicks audibly during transitions.",
             "pictures turn black and white in the evening with a clicking"),
            ("Foggy images from the {p} after rain indicate condensation behind the lens; replace the "
             "desiccant pack and check the gasket.",
             "the view looks cloudy and misty after a storm"),
            ("Pets triggering alerts: person detection on the {p} ignores small animals below 20 percent of frame height; adjust "
             "the minimum object size.",
             "my cat sets off the camera alarm"),
            ("Recordings on the {p} are overwritten in a loop when the card is full; export clips before "
             "retention expires.",
             "the footage from last month of the break-in is gone"),
            ("Glare from vehicle headlights overexposes the image of the {p} at night; enable wide dynamic range and tilt the "
             "lens downwards.",
             "the lights of passing cars dazzle the camera and the picture turns completely white"),
            ("Privacy masks on the {p} black out neighbouring windows in both the live view and "
             "recordings.",
             "I don't want to film next door's bedroom"),
            ("Two-way audio on the {p} has about one second of latency; speak after the tone.",
             "talking to the delivery person through it is awkward and delayed"),
        ),
        "parts": ("mounting junction box", "sun shield", "PoE injector"),
        "rare": (
            ("Wildlife monitoring: the {p} can be set to capture at 2 frames per second on motion for "
             "nocturnal animals with the infrared illuminator at low power.",
             "I want to spy on badgers in the woods at night"),
            ("Elevator cabins: the {p} needs the vandal dome and a wide-angle lens; recording uploads over "
             "the travelling cable Ethernet extender.",
             "can it watch inside a lift"),
            ("Airports and other restricted zones: the {p} must be registered with the site's security "
             "operator and its audio recording disabled.",
             "we want cameras around the apron where the planes park at our airfield"),
            ("Sub-zero installations: the lens heater of the {p} needs 802.3at PoE+ to prevent icing below "
             "minus 20 degrees Celsius.",
             "the picture ices over in our arctic winters"),
            ("Farm livestock barns: ammonia corrodes the housing of the {p}; use the stainless steel "
             "variant and wash with water monthly.",
             "watching over the cows in a smelly shed"),
        ),
    },
    "ebike": {
        "short": "e-bike",
        "noun": "electric bicycle",
        "overview": "{p} is a pedal-assist electric bicycle with a mid-drive motor, a 500 Wh removable "
                    "battery and hydraulic disc brakes.",
        "products": ("Volta E1", "Volta E3 Cargo", "Pedalo Urban", "Kestrel Trail 9", "Orbit Fold 20"),
        "code": "B{n}",
        "causes": (
            "the torque sensor returned an implausible signal",
            "the battery management system detected cell imbalance",
            "the speed sensor magnet is out of range",
            "the motor controller over-current protection tripped",
            "the display lost communication on the CAN bus",
            "the battery temperature is outside the charging window",
            "the throttle signal is stuck high",
            "the lighting circuit has a short",
            "the motor firmware does not match the display firmware",
            "the brake cut-off switch is permanently engaged",
        ),
        "keys": (
            ("assist.max_kmh", "the speed at which motor assistance ends", "25", "km/h"),
            ("assist.level_default", "the assistance level after switching on", "eco", ""),
            ("light.auto", "whether lights follow the ambient light sensor", "true", ""),
            ("battery.charge_limit", "the charge limit that preserves battery life", "100", "percent"),
            ("walk.assist", "whether push assistance is enabled", "true", ""),
            ("wheel.circumference_mm", "the wheel circumference used for speed", "2200", "mm"),
            ("display.units", "the units shown on the display", "metric", ""),
            ("lock.pin", "whether a PIN is required to power on", "false", ""),
        ),
        "topics": (
            ("Assistance on the {p} cuts out at 25 km/h as required in the EU; above that speed the "
             "motor disengages with slight drag.",
             "the help stops when I'm going fast downhill"),
            ("Range of the {p} falls by up to 40 percent in winter because lithium cells deliver less "
             "energy when cold.",
             "in the chilly months I can't get as far on one charge"),
            ("Squealing hydraulic disc brakes on the {p} are caused by contaminated pads; replace them and "
             "clean the rotors with isopropyl alcohol.",
             "a horrible screech whenever I slow down"),
            ("Drivetrain wear on mid-drive bikes like the {p} is roughly twice as fast as on pedal bikes; "
             "measure elongation of the roller links every 1,000 km.",
             "my chain keeps stretching and getting loose"),
            ("Long-term storage: when the {p} is unused for more than a month, keep its battery at 50 to 70 "
             "percent charge in a dry place.",
             "how full should the bike's power pack be while it sits in the shed over winter"),
            ("Clicking from the bottom bracket of the {p} under load usually means loose crank bolts; "
             "torque them to 40 Nm.",
             "a ticking sound each time I push hard on the pedals"),
            ("Tyre pressure on the {p} should be 3.5 to 4.5 bar; underinflation increases rolling "
             "resistance and shortens range.",
             "how much air should the wheels have"),
            ("The display of the {p} shows walk mode when the minus button is held; push assistance "
             "moves the bike at 6 km/h.",
             "it began rolling ahead by itself while I pressed something on the handlebar"),
        ),
        "parts": ("battery pack 500 Wh", "brake pad set", "display unit"),
        "rare": (
            ("Transport by train or plane: the 500 Wh battery of the {p} exceeds airline limits of "
             "160 Wh and must be shipped as dangerous goods.",
             "can I take it with me on my flight to Spain"),
            ("Trailers and child seats: the {p} rear rack is rated for 27 kg; a child trailer must attach "
             "to the axle, not the rack.",
             "pulling my toddler behind in a little cart"),
            ("Saltwater exposure: after riding the {p} on beaches, rinse the drivetrain and the battery "
             "contacts with fresh water and dry them.",
             "I cruise along the seaside sand every weekend"),
            ("Riders above 120 kg: the {p} frame and wheels are rated for a total system weight of "
             "140 kg including luggage.",
             "I'm a big heavy guy, will it carry me"),
            ("Tuning devices that raise the assistance limit of the {p} void the warranty and make it a "
             "motor vehicle requiring registration.",
             "a chip so it goes quicker than the law allows"),
        ),
    },
}

# Generic paragraphs of the long field-service passages: formal, and long enough that
# the special-situation note at the end falls past the encoder's 256-token window.
SERVICE_PARAGRAPHS = (
    "Scope: this manual applies to all hardware revisions of the {p} distributed by Northwind and its "
    "authorised service partners. Procedures assume a qualified technician with the standard service "
    "toolkit, antistatic wrist strap and access to the partner portal for firmware images.",
    "Safety precautions: disconnect mains power and remove any batteries before opening the enclosure. "
    "Capacitors may retain charge for up to two minutes. Observe electrostatic discharge precautions "
    "and wear eye protection when handling springs or clips under tension.",
    "Unpacking and inspection: verify that the serial label matches the shipping documents, inspect the "
    "enclosure for transport damage and retain the original packaging for returns. Report concealed "
    "damage to the carrier within seven calendar days.",
    "Mounting: the enclosure provides four threaded inserts on the underside. Use the supplied bracket "
    "and fasteners only, tighten to 1.2 Nm and keep the ventilation slots unobstructed on all sides.",
    "Cleaning and maintenance: wipe surfaces with a lint-free cloth moistened with isopropyl alcohol. "
    "Never use abrasive pads or solvent sprays. Inspect connectors for oxidation during each scheduled "
    "service visit.",
    "Warranty: the standard warranty covers manufacturing defects for twenty-four months from the date "
    "of sale. Damage caused by unauthorised modification, liquid ingress or improper installation is "
    "excluded. Keep the proof of purchase with the service record.",
    "Diagnostics: hold the reset control for ten seconds to generate a diagnostic bundle, then download "
    "it from the administration console and attach it to the service case together with the serial "
    "number and firmware build.",
    "Disposal: the {p} contains electronic components subject to the WEEE directive. Return units at end "
    "of life to an authorised collection point; batteries must be removed and recycled separately.",
)

SPECIAL_HEADER = "Special situations and environments."
