//! Owner-only access to what holds secrets or personal data: age identities,
//! signing keys, the audit database and its checkpoint files, certificates and
//! reports, and restored or received data.
//!
//! On Unix these are created 0600 (directories 0700) where they are made; this
//! module only checks. On Windows the mode bits mean nothing, so kura gives
//! each of them a *protected* DACL (no entries inherited from the folder
//! above) with full control for the user kura runs as, for SYSTEM and for
//! the Administrators group, and nobody else, inherited by everything created
//! inside a directory: what `icacls PATH /inheritance:r /grant:r
//! "%USERNAME%:(OI)(CI)F" *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F` makes.
//! SYSTEM and Administrators are Windows' counterpart of root, which 0600
//! does not keep out either; and the scheduled backup runs as SYSTEM and must
//! read the signing key and append to the audit log that an administrator
//! made.

use std::io;
use std::path::Path;

/// Gives `path` (a file, or a directory whose future contents inherit it)
/// owner-only access (on Windows: the user, SYSTEM and Administrators). A
/// no-op on Unix, where the mode given at creation does it.
pub fn restrict(path: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        windows::restrict(path)
    }
    #[cfg(not(windows))]
    {
        let _ = path;
        Ok(())
    }
}

/// Whether only the owner can read or change `path`: on Unix no group or
/// other permission bits; on Windows a DACL whose every entry allows the
/// current user, SYSTEM or Administrators, and nobody else.
///
/// Under Wine (the test stage) this is false even after [`restrict`]: Wine 8
/// accepts the DACL but neither keeps nor returns it; it answers with the
/// DACL it derives from the Unix mode.
pub fn is_owner_only(path: &Path) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(std::fs::metadata(path)?.permissions().mode() & 0o077 == 0)
    }
    #[cfg(windows)]
    {
        windows::is_owner_only(path)
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = path;
        Ok(false)
    }
}

#[cfg(windows)]
#[allow(unsafe_code)]
mod windows {
    //! The Win32 security calls. Every pointer here is either made by the
    //! call that fills it (and freed with `LocalFree`), or points into a
    //! buffer this module owns and keeps alive across the call.

    use std::ffi::c_void;
    use std::io;
    use std::os::windows::ffi::OsStrExt;
    use std::path::Path;
    use std::ptr::{null, null_mut};

    use windows_sys::Win32::Foundation::{CloseHandle, LocalFree, ERROR_SUCCESS, HANDLE};
    use windows_sys::Win32::Security::Authorization::{
        GetNamedSecurityInfoW, SetEntriesInAclW, SetNamedSecurityInfoW, EXPLICIT_ACCESS_W,
        NO_MULTIPLE_TRUSTEE, SET_ACCESS, SE_FILE_OBJECT, TRUSTEE_IS_SID, TRUSTEE_IS_USER,
        TRUSTEE_W,
    };
    use windows_sys::Win32::Security::{
        CreateWellKnownSid, EqualSid, GetAce, GetTokenInformation, TokenUser,
        WinBuiltinAdministratorsSid, WinLocalSystemSid, ACCESS_ALLOWED_ACE, ACL,
        DACL_SECURITY_INFORMATION, NO_INHERITANCE, PROTECTED_DACL_SECURITY_INFORMATION,
        PSECURITY_DESCRIPTOR, PSID, SECURITY_MAX_SID_SIZE, SUB_CONTAINERS_AND_OBJECTS_INHERIT,
        TOKEN_QUERY, TOKEN_USER, WELL_KNOWN_SID_TYPE,
    };
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

    /// FILE_ALL_ACCESS.
    const FULL_CONTROL: u32 = 0x001F_01FF;
    /// ACCESS_ALLOWED_ACE_TYPE.
    const ALLOWED: u8 = 0;

    fn wide(path: &Path) -> Vec<u16> {
        path.as_os_str().encode_wide().chain([0]).collect()
    }

    /// The current user's SID, in a buffer that must outlive its use.
    struct User {
        buffer: Vec<u64>,
    }

    impl User {
        fn current() -> io::Result<User> {
            let mut token: HANDLE = null_mut();
            // SAFETY: GetCurrentProcess returns a pseudo-handle; `token` is
            // written by the call and closed below.
            if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
                return Err(io::Error::last_os_error());
            }
            let mut len = 0u32;
            // SAFETY: a size query with no buffer; it fails and sets `len`.
            unsafe { GetTokenInformation(token, TokenUser, null_mut(), 0, &mut len) };
            let mut buffer = vec![0u64; (len as usize).div_ceil(8).max(1)];
            // SAFETY: `buffer` holds at least `len` bytes, 8-aligned.
            let ok = unsafe {
                GetTokenInformation(
                    token,
                    TokenUser,
                    buffer.as_mut_ptr().cast(),
                    (buffer.len() * 8) as u32,
                    &mut len,
                )
            };
            let error = io::Error::last_os_error();
            // SAFETY: `token` was opened above and is closed once.
            unsafe { CloseHandle(token) };
            if ok == 0 {
                return Err(error);
            }
            Ok(User { buffer })
        }

        fn sid(&self) -> PSID {
            // SAFETY: the buffer holds a TOKEN_USER written by
            // GetTokenInformation; its SID points into the same buffer.
            unsafe { (*self.buffer.as_ptr().cast::<TOKEN_USER>()).User.Sid }
        }
    }

    /// A well-known SID (SYSTEM, Administrators), in a buffer of its own.
    struct WellKnown {
        buffer: [u64; (SECURITY_MAX_SID_SIZE as usize).div_ceil(8)],
    }

    impl WellKnown {
        fn new(kind: WELL_KNOWN_SID_TYPE) -> io::Result<WellKnown> {
            let mut sid = WellKnown {
                buffer: [0; (SECURITY_MAX_SID_SIZE as usize).div_ceil(8)],
            };
            let mut len = SECURITY_MAX_SID_SIZE;
            // SAFETY: the buffer holds SECURITY_MAX_SID_SIZE bytes, as `len` says.
            let ok = unsafe {
                CreateWellKnownSid(kind, null_mut(), sid.buffer.as_mut_ptr().cast(), &mut len)
            };
            if ok == 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(sid)
        }

        fn sid(&self) -> PSID {
            self.buffer.as_ptr().cast_mut().cast()
        }
    }

    /// The SIDs that may hold an entry: the user, SYSTEM, Administrators.
    struct Allowed {
        user: User,
        system: WellKnown,
        administrators: WellKnown,
    }

    impl Allowed {
        fn new() -> io::Result<Allowed> {
            Ok(Allowed {
                user: User::current()?,
                system: WellKnown::new(WinLocalSystemSid)?,
                administrators: WellKnown::new(WinBuiltinAdministratorsSid)?,
            })
        }

        fn sids(&self) -> [PSID; 3] {
            [
                self.user.sid(),
                self.system.sid(),
                self.administrators.sid(),
            ]
        }
    }

    pub fn restrict(path: &Path) -> io::Result<()> {
        let allowed = Allowed::new()?;
        let inheritance = if path.is_dir() {
            SUB_CONTAINERS_AND_OBJECTS_INHERIT
        } else {
            NO_INHERITANCE
        };
        let entries = allowed.sids().map(|sid| EXPLICIT_ACCESS_W {
            grfAccessPermissions: FULL_CONTROL,
            grfAccessMode: SET_ACCESS,
            grfInheritance: inheritance,
            Trustee: TRUSTEE_W {
                pMultipleTrustee: null_mut(),
                MultipleTrusteeOperation: NO_MULTIPLE_TRUSTEE,
                TrusteeForm: TRUSTEE_IS_SID,
                TrusteeType: TRUSTEE_IS_USER,
                ptstrName: sid.cast(),
            },
        });
        let mut acl: *mut ACL = null_mut();
        // SAFETY: three entries, whose SIDs live in `allowed`; `acl` is
        // allocated by the call and freed below.
        let status =
            unsafe { SetEntriesInAclW(entries.len() as u32, entries.as_ptr(), null(), &mut acl) };
        if status != ERROR_SUCCESS {
            return Err(io::Error::from_raw_os_error(status as i32));
        }
        let name = wide(path);
        // SAFETY: `name` is NUL-terminated; `acl` is the ACL made above.
        let status = unsafe {
            SetNamedSecurityInfoW(
                name.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                null_mut(),
                null_mut(),
                acl,
                null(),
            )
        };
        // SAFETY: allocated by SetEntriesInAclW, freed once.
        unsafe { LocalFree(acl.cast()) };
        if status != ERROR_SUCCESS {
            return Err(io::Error::from_raw_os_error(status as i32));
        }
        Ok(())
    }

    pub fn is_owner_only(path: &Path) -> io::Result<bool> {
        let allowed = Allowed::new()?;
        let name = wide(path);
        let mut dacl: *mut ACL = null_mut();
        let mut descriptor: PSECURITY_DESCRIPTOR = null_mut();
        // SAFETY: `name` is NUL-terminated; `dacl` points into `descriptor`,
        // which the call allocates and which is freed below.
        let status = unsafe {
            GetNamedSecurityInfoW(
                name.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION,
                null_mut(),
                null_mut(),
                &mut dacl,
                null_mut(),
                &mut descriptor,
            )
        };
        if status != ERROR_SUCCESS {
            return Err(io::Error::from_raw_os_error(status as i32));
        }
        let verdict = owner_only_dacl(&allowed, dacl);
        // SAFETY: allocated by GetNamedSecurityInfoW, freed once.
        unsafe { LocalFree(descriptor) };
        Ok(verdict)
    }

    /// A non-empty DACL of allow entries for the allowed SIDs only, set on
    /// the object itself or inherited (a restored file inherits its
    /// directory's). A null DACL (everyone has access) is not.
    fn owner_only_dacl(allowed: &Allowed, dacl: *mut ACL) -> bool {
        if dacl.is_null() {
            return false;
        }
        // SAFETY: `dacl` is a valid ACL inside `descriptor`.
        let count = unsafe { (*dacl).AceCount };
        if count == 0 {
            return false;
        }
        (0..u32::from(count)).all(|i| {
            let mut ace: *mut c_void = null_mut();
            // SAFETY: `i` < AceCount; `ace` points into the ACL.
            if unsafe { GetAce(dacl, i, &mut ace) } == 0 {
                return false;
            }
            let ace = ace.cast::<ACCESS_ALLOWED_ACE>();
            // SAFETY: every ACE starts with an ACE_HEADER; an allowed ACE's
            // SID starts at SidStart.
            unsafe {
                let sid: PSID = std::ptr::addr_of!((*ace).SidStart).cast_mut().cast();
                (*ace).Header.AceType == ALLOWED
                    && allowed.sids().iter().any(|a| EqualSid(sid, *a) != 0)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn group_or_other_bits_are_not_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(!is_owner_only(&path).unwrap());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(is_owner_only(&path).unwrap());
    }

    /// The Win32 calls succeed on a file and a directory (their effect is
    /// not visible under Wine; see [`is_owner_only`]).
    #[cfg(windows)]
    #[test]
    fn restricting_a_file_and_a_directory_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        restrict(&path).unwrap();
        restrict(dir.path()).unwrap();
        assert!(restrict(&dir.path().join("absent")).is_err());
    }
}
